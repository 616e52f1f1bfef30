// Typed actions between stages: the spec and its validation, the SSRF guard, and the http
// verb. The engine runs them; the Kubernetes verbs (job, wait, patch, delete, apply) live there.
export * from "./spec";
export * from "./errors";
export { allowlistProblems, classifyAddress, isAllowed, pinnedLookup, systemLookup, vetDestination, type AddressClass, type Destination, type Lookup, type VetOptions } from "./ssrf";
export { runHttpAction, type HttpActionOptions, type HttpActionResult } from "./http";
export { celProblem } from "./spec-verbs";
export { currentRecords, findRecord, pendingActions, withRecord, type Hook, type RecordKey } from "./ledger";
export { jobName, runVerb, type Progress, type VerbContext } from "./kube-verbs";
