// Starts the engine in a child process, so a test can kill it (SIGKILL) mid-release and
// start another, as a crashed and rescheduled watcher pod would be.
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface ControllerProcess {
  child: ChildProcess;
  /** Base URLs of the gate and metrics listeners, when STAGESET_GATE_ADDRESS was set. */
  urls: { gate?: string; metrics?: string };
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function spawnController(env: Record<string, string> = {}): Promise<ControllerProcess> {
  // node itself, with tsx as a loader: the tsx CLI would run the controller in a child process
  // of its own, which a SIGKILL of the CLI leaves running (so a "killed" controller went on).
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "test/harness/run-controller.ts")], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? "warn", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const ready = await readyLine(child, /^ready (.*)\n/m, "controller");
  return { child, urls: JSON.parse(ready[1]!) as ControllerProcess["urls"], kill: signal => killChild(child, signal) };
}

/** Waits for the child's stdout to print `line`, then passes the rest of its output through. */
export function readyLine(child: ChildProcess, line: RegExp, what: string): Promise<RegExpExecArray> {
  return new Promise((ok, fail) => {
    let out = "";
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const ready = line.exec(out);
      if (!ready) return;
      child.stdout!.off("data", onData);
      child.stdout!.pipe(process.stdout); // the child's own log lines
      ok(ready);
    };
    child.stdout!.on("data", onData);
    child.once("exit", code => fail(new Error(`${what} exited with code ${code} before it was ready`)));
  });
}

/** Signals the child (SIGKILL by default) and resolves once it has exited. */
export function killChild(child: ChildProcess, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
  return new Promise(ok => {
    if (child.exitCode !== null || child.signalCode !== null) return ok();
    child.once("exit", () => ok());
    child.kill(signal);
  });
}
