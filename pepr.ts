// The Pepr module. Top level stays inert (Pepr runs this file in the build, the admission
// pods, the watcher and dev mode); only the watcher and dev mode start the gate and metrics.
import { Log, PeprModule } from "pepr";
import cfg from "./package.json";
import { StageSets, startServers } from "./capabilities";

new PeprModule(cfg, [StageSets]);

const env = process.env;
if (env.PEPR_MODE !== "build" && (env.PEPR_WATCH_MODE === "true" || env.PEPR_MODE === "dev")) {
  startServers().catch((err: unknown) => {
    // Without its gate the controller would silently hold every promotion: fail loudly.
    Log.error({ err: err instanceof Error ? err.message : String(err) }, "cannot start the gate and metrics listeners");
    process.exit(1);
  });
}
