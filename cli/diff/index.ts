// `stageset diff`: the newest artifact of each stage against the cluster, from server-side
// dry-run applies, and its human rendering.
export { diffStageSet, type Change, type ObjectDiff, type StageDiff } from "./diff";
export { hasChanges, hasErrors, renderDiff } from "./render";
export { objectDiff, objectForDiff, unifiedDiff } from "./text-diff";
