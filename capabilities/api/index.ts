// The StageSet API, the kinds it reads, and the vocabulary of its status.
export * from "./stageset";
export * from "./external-artifact";
export * from "./reasons";
export * from "./errors";
export * from "./readiness";
export * from "./source-ref";
export * from "./durations";
