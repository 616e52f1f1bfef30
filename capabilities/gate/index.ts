// The read-only promotion gate: /gate/{namespace}/{stageset}/{stage} answered from an
// in-memory readiness view, and the metrics listener beside it.
export { ReadinessView, verificationOf, type LiveFacts, type StageReadiness, type StageEntry } from "./view";
export { answer, gateMethods, type GateAnswer, type GateRequest } from "./answer";
export { startGateServer, startMetricsServer, maxBodyBytes } from "./server";
export { listen, parseAddress, limits, type Listener } from "./listen";
export { serve, defaultAddresses, type Serving } from "./serve";
