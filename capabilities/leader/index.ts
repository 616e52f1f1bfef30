// Leader election on a Lease: which replica reconciles (the others follow, serving their gates).
export { defaultTimings, timingProblems, type ElectionConfig } from "./election";
export { Elector, type ElectorHooks } from "./lease";
export { leaderElectionFromEnv, leaseName, type LeaderElection } from "./config";
