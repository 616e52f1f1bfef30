// The release engine: the pure plan of a run, the queue that paces runs, and the
// controller that turns watch events into reconciles.
export { Controller, type ControllerOptions } from "./controller";
export { nextStep, type Step } from "./plan";
export { isStageReady } from "../api";
export { WorkQueue, type Outcome } from "./queue";
export { parseDuration, durationOr, formatDuration } from "../api";
export { finalizer } from "./finish";
export { requestedAtAnnotation } from "./reconcile";
export { resolveSources, type ResolvedSource } from "./sources";
