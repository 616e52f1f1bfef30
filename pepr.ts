// The Pepr module. Top level stays inert (Pepr runs this file in the build, the admission
// pods, the watcher and dev mode); only watcher and dev mode would start servers or timers.
import { PeprModule } from "pepr";
import cfg from "./package.json";
import { StageSets } from "./capabilities";

new PeprModule(cfg, [StageSets]);
