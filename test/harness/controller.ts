// Runs the StageSet engine in the test process, fed by real watches on the control plane
// (the same kubernetes-fluent-client watches Pepr's bindings use in the watcher pod).
import { K8s } from "pepr";
import { ExternalArtifact, StageSet } from "../../capabilities/api";
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
  const serving = opts.serve ? await serve(controller.view, controller.metrics.registry, addresses) : undefined;
  const relist = { resyncDelaySec: 1, relistIntervalSec: 30, lastSeenLimitSeconds: 300, resyncFailureMax: 30 };
  const stageSets = K8s(StageSet).Watch((ss, phase) => controller.onStageSet(ss, phase === "DELETED"), relist);
  const artifacts = K8s(ExternalArtifact).Watch((ea, phase) => controller.onArtifact(ea, phase === "DELETED"), relist);
  await Promise.all([stageSets.start(), artifacts.start()]);
  return {
    controller,
    serving,
    stop() {
      void serving?.close();
      stageSets.close();
      artifacts.close();
      controller.stop();
    },
  };
}
