// Promotion control: what holds a release besides health. Dependencies between StageSets,
// approvals bound to a revision, change windows and freezes. Pure.
export * from "./approvals";
export * from "./dependencies";
export * from "./windows";
