// Clean-up that does not depend on this process. A detached reaper (k8s-node-agent reaper)
// reads a state file listing everything the run made on the host; it cleans up when told,
// when its stdin pipe closes (this process died), or when the process that started the run
// or that one's parent dies (a test runner killed while its worker lives on). It kills the
// nodes' processes (by recorded pid, by mount and network namespace, by cgroup) and the
// control plane's (by work directory), then removes cgroups, namespaces, links and directories.
import { spawn } from "node:child_process";
import { openSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface ReaperState {
  procs: { pid: number; match: string }[];
  holders: { pid: number; match: string }[];
  cmdlineMatch: string[];
  cgroupRoots: string[];
  netns: string[];
  links: string[];
  dirs: string[];
}

export interface Reaper {
  /** Edit, then save() before creating the thing, so a crash in between still cleans it. */
  state: ReaperState;
  save(): void;
  /** Cleans up now; resolves to what could not be removed (empty when all is gone). */
  cleanup(): Promise<string[]>;
}

export function startReaper(agent: string, base: string, state: ReaperState): Reaper {
  const statePath = join(base, "reaper.json");
  const save = () => writeFileSync(statePath, JSON.stringify(state, null, 1));
  save();
  const watch = [process.pid, process.ppid].filter(pid => pid > 1).flatMap(pid => ["-watch", String(pid)]);
  const child = spawn(agent, ["reaper", "-state", statePath, ...watch], {
    detached: true,
    stdio: ["pipe", "pipe", openSync(join(base, "reaper.log"), "a")],
  });
  // Detached and unreferenced: this process may exit while the reaper lives on.
  child.unref();
  for (const s of [child.stdin, child.stdout]) (s as unknown as { unref?: () => void }).unref?.();
  const out: string[] = [];
  child.stdout!.on("data", d => out.push(String(d)));

  const cleanup = async () => {
    const exited = new Promise<void>(ok => (child.exitCode !== null ? ok() : child.once("exit", () => ok())));
    child.stdin!.end("cleanup\n");
    await exited;
    const last = out.join("").trim().split("\n").at(-1) ?? "";
    try {
      return (JSON.parse(last) as { left: string[] }).left;
    } catch {
      return [`reaper said: ${last || "(nothing)"}; see ${join(base, "reaper.log")}`];
    }
  };
  return { state, save, cleanup };
}
