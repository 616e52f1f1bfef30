// The module as the watcher pod runs it: Pepr's runtime in watch mode (PEPR_WATCH_MODE=true,
// set by the spawner before anything is imported) turns the module's When(...) bindings
// (capabilities/index.ts) into watches, and the gate and metrics start as pepr.ts starts them.
// The one difference from pepr.ts: Pepr's own HTTPS port is PEPR_PORT (a free port) instead of
// 3000, so test files can run side by side. Prints "ready" once the gate answers.
import { PeprModule } from "pepr";
import cfg from "../../package.json";
import { StageSets, startServers } from "../../capabilities";

if (process.env.PEPR_WATCH_MODE !== "true") throw new Error("run-module.ts needs PEPR_WATCH_MODE=true in its environment");
new PeprModule(cfg, [StageSets], { deferStart: true }).start(Number(process.env.PEPR_PORT));
startServers()
  .then(() => process.stdout.write("ready\n"))
  .catch((err: unknown) => {
    process.stderr.write(`cannot start the gate: ${String(err)}\n`);
    process.exit(1);
  });
