// Small process helpers shared by the node cluster's parts: run a host command with its
// error text kept, poll until something holds, read a process's command line.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as { stderr?: string };
    throw new Error(`${cmd} ${args.join(" ")}: ${e.stderr?.trim() || (err as Error).message}`, { cause: err });
  }
}

/** Polls probe every 250 ms; a probe that throws stops the wait with its error. */
export async function until(probe: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise(ok => setTimeout(ok, 250));
  }
}

/** The NUL-separated command line of a process, or "" once it is gone. */
export function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return "";
  }
}
