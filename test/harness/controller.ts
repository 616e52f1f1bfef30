// Runs the StageSet engine in the test process, fed by real watches on the control plane
// (the same kubernetes-fluent-client watches Pepr's bindings use in the watcher pod).
import { K8s } from "pepr";
import { ExternalArtifact, StageSet } from "../../capabilities/api";
import { Controller, type ControllerOptions } from "../../capabilities/engine";

export interface RunningController {
  controller: Controller;
  stop(): void;
}

export async function startController(opts: ControllerOptions = {}): Promise<RunningController> {
  const controller = new Controller(opts);
  const relist = { resyncDelaySec: 1, relistIntervalSec: 30, lastSeenLimitSeconds: 300, resyncFailureMax: 30 };
  const stageSets = K8s(StageSet).Watch((ss, phase) => controller.onStageSet(ss, phase === "DELETED"), relist);
  const artifacts = K8s(ExternalArtifact).Watch((ea, phase) => controller.onArtifact(ea, phase === "DELETED"), relist);
  await Promise.all([stageSets.start(), artifacts.start()]);
  return {
    controller,
    stop() {
      stageSets.close();
      artifacts.close();
      controller.stop();
    },
  };
}
