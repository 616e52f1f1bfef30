// Condition types and reasons: one vocabulary for status, events and logs. A reason is
// API (users alert on it): never rename one, only add.

export const ConditionType = { Ready: "Ready", Reconciling: "Reconciling", Stalled: "Stalled" } as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

export const Reason = {
  /** Ready=True: every stage is Ready at its pinned revision. */
  Succeeded: "ReconciliationSucceeded",
  /** Reconciling=True: a run is under way. */
  Progressing: "Progressing",
  /** Reconciling=True: a run is under way after a failure. */
  ProgressingWithRetry: "ProgressingWithRetry",
  /** spec.suspend is true: nothing is applied or pruned. */
  Suspended: "Suspended",
  /** The spec cannot be acted on (Stalled until it changes). */
  InvalidSpec: "InvalidSpec",
  /** A CEL expression does not compile or is not boolean (Stalled until it changes). */
  InvalidCELExpression: "InvalidCELExpression",
  /** The source object is missing or has no artifact yet. */
  SourceNotReady: "SourceNotReady",
  /** The API server does not serve the source kind (Flux or its ExternalArtifact CRD not installed). */
  SourceKindNotInstalled: "SourceKindNotInstalled",
  /** The artifact could not be downloaded (server down, HTTP error, size cap). */
  ArtifactFetchFailed: "ArtifactFetchFailed",
  /** The downloaded bytes do not match the published digest. */
  ArtifactVerificationFailed: "ArtifactVerificationFailed",
  /** The archive is corrupt or unsafe (truncated gzip, traversal, links, devices, over a cap). */
  ArtifactExtractionFailed: "ArtifactExtractionFailed",
  /** A manifest does not parse or lacks apiVersion, kind or name; or the path holds none. */
  ManifestInvalid: "ManifestInvalid",
  /** The same object is claimed by two stages. */
  DuplicateObject: "DuplicateObject",
  /** An object of the stage is held by another StageSet (and the stage does not take ownership). */
  OwnershipConflict: "OwnershipConflict",
  /** The API server does not serve a manifest's apiVersion and kind. */
  UnknownKind: "UnknownKind",
  /** Server-side apply was refused. */
  ApplyFailed: "ApplyFailed",
  /** The StageSet's ServiceAccount may not do what the stage needs (named: who, verb, kind, namespace). */
  Forbidden: "Forbidden",
  /** The StageSet names a source in another namespace while the controller refuses cross-namespace references. */
  CrossNamespaceRefForbidden: "CrossNamespaceRefForbidden",
  /** An object (or a CEL failed expression) reports failure. */
  HealthCheckFailed: "HealthCheckFailed",
  /** Objects were not Ready within the stage's timeout. */
  HealthCheckTimeout: "HealthCheckTimeout",
  /** Ready=False: a stage verified Ready has an object that is no longer healthy (followed live). */
  HealthDegraded: "HealthDegraded",
  /** Event: a degraded stage's objects are healthy again. */
  HealthRecovered: "HealthRecovered",
  /** Objects that left a stage could not be deleted. */
  PruneFailed: "PruneFailed",
  /** Tearing a stage down (removal or deletion) failed. */
  TeardownFailed: "TeardownFailed",
  /** Event: a deleted StageSet's ServiceAccount is gone, so its stages were left to the namespace's deletion. */
  TeardownSkipped: "TeardownSkipped",
  /** An action ran and failed (an unexpected status, a connection error, a failed Job), retries spent. */
  ActionFailed: "ActionFailed",
  /** An action was not run: its destination is refused by the SSRF guard. */
  ActionRefused: "ActionRefused",
  /** An action did not finish within its timeout, retries spent. */
  ActionTimeout: "ActionTimeout",
  /** A new run waits: a StageSet (or stage) in spec.dependsOn is not Ready. */
  DependencyNotReady: "DependencyNotReady",
  /** A new run waits: it is outside the allow windows, or inside a deny window (spec.windows). */
  OutsideWindow: "OutsideWindow",
  /** A new run waits: spec.freeze is set. */
  Frozen: "Frozen",
  /** The next stage waits until the stage's promotion.soak has passed with the stage Ready throughout. */
  Soaking: "Soaking",
  /** The next stage waits for an approval of the stage at its pinned revision (promotion.approval: Required). */
  ApprovalRequired: "ApprovalRequired",
  /** Event: a spec.notify delivery failed (refused, rejected, retries spent, its Secret unreadable); the release goes on. */
  NotificationFailed: "NotificationFailed",
  /** An unexpected error (the API server unreachable, a bug); retried with backoff. */
  ReconciliationFailed: "ReconciliationFailed",
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];
