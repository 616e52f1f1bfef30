// Runs the StageSet engine in the test process, fed by a real StageSet watch on the control
// plane (the kubernetes-fluent-client watch Pepr's bindings use in the watcher pod); the
// engine follows sources and live health with its own watches, as in the module.
import { K8s } from "pepr";
import { StageSet } from "../../capabilities/api";
import { Controller, type ControllerOptions } from "../../capabilities/engine";
import { serve, type Serving } from "../../capabilities/gate";

export interface RunningController {
  controller: Controller;
  /** The gate and metrics listeners, when started with `serve`. */
  serving?: Serving;
  stop(): void;
}

export interface HarnessOptions extends ControllerOptions {
  /** Start the gate and metrics listeners (on free loopback ports unless addresses are given). */
  serve?: boolean | { gate?: string; metrics?: string };
}

export async function startController(opts: HarnessOptions = {}): Promise<RunningController> {
  const controller = new Controller(opts);
  const addresses = { gate: "127.0.0.1:0", metrics: "127.0.0.1:0", ...(typeof opts.serve === "object" ? opts.serve : {}) };
  const serving = opts.serve ? await serve(controller.view, controller.metrics.registry, { addresses, synced: () => controller.synced() }) : undefined;
  const relist = { resyncDelaySec: 1, relistIntervalSec: 30, lastSeenLimitSeconds: 300, resyncFailureMax: 30 };
  const stageSets = K8s(StageSet).Watch((ss, phase) => controller.onStageSet(ss, phase === "DELETED"), relist);
  await stageSets.start();
  return {
    controller,
    serving,
    stop() {
      void serving?.close();
      stageSets.close();
      controller.stop();
    },
  };
}
