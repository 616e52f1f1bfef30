// The StageSet API and the kinds it reads.
export * from "./stageset";
export * from "./external-artifact";
