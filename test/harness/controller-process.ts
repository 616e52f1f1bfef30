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
  const urls = await new Promise<ControllerProcess["urls"]>((ok, fail) => {
    let out = "";
    child.stdout!.on("data", chunk => {
      out += chunk;
      const ready = /^ready (.*)\n/m.exec(out);
      if (ready) {
        child.stdout!.removeAllListeners("data");
        child.stdout!.pipe(process.stdout); // the controller's own log lines
        ok(JSON.parse(ready[1]!) as ControllerProcess["urls"]);
      }
    });
    child.once("exit", code => fail(new Error(`controller exited with code ${code} before it was ready`)));
  });
  return {
    child,
    urls,
    kill: signal =>
      new Promise(ok => {
        if (child.exitCode !== null || child.signalCode !== null) return ok();
        child.once("exit", () => ok());
        child.kill(signal ?? "SIGKILL");
      }),
  };
}
