// The StageSet kind (stageset.dev/v1alpha1). crds/stageset.dev_stagesets.yaml is the
// source of truth; these types follow it field for field.
import { a, RegisterKind } from "pepr";

export const StageSetGVK = { group: "stageset.dev", version: "v1alpha1", kind: "StageSet", plural: "stagesets" } as const;

/** The API path of StageSets: every namespace's, one namespace's, or one StageSet's (plus a subresource such as "/status"). */
export function stageSetsPath(namespace?: string, name?: string, sub = ""): string {
  const { group, version, plural } = StageSetGVK;
  const scope = namespace === undefined ? "" : `/namespaces/${encodeURIComponent(namespace)}`;
  return `/apis/${group}/${version}${scope}/${plural}${name === undefined ? "" : `/${encodeURIComponent(name)}${sub}`}`;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface SourceRef {
  apiVersion?: string;
  kind?: string;
  name: string;
  namespace?: string;
}

export interface HealthExpr {
  apiVersion: string;
  kind: string;
  current: string;
  inProgress?: string;
  failed?: string;
}

export interface ReadyChecks {
  timeout?: string;
  disableWait?: boolean;
  checks?: ObjectRef[];
  exprs?: HealthExpr[];
}

export interface Stage {
  name: string;
  sourceRef: SourceRef;
  path?: string;
  prune?: boolean;
  /** Take objects another StageSet holds (they leave its inventory) instead of refusing them. */
  takeOwnership?: boolean;
  timeout?: string;
  readyChecks?: ReadyChecks;
  actions?: Record<string, unknown>;
  /** What must hold once the stage is Ready before the next stage starts. */
  promotion?: Promotion;
}

export interface Promotion {
  /** The stage must stay Ready this long (a duration); a degradation restarts the clock. */
  soak?: string;
  /** Required: the next stage waits for an approval of this stage at its pinned revision. */
  approval?: "None" | "Required";
}

/** A change window: from each start the cron schedule gives (on the zone's wall clock), for the duration. */
export interface ChangeWindow {
  /** allow: new runs start only inside some allow window (when any is listed); deny: never inside one. */
  kind: "allow" | "deny";
  /** Five cron fields: minute hour day-of-month month day-of-week. */
  schedule: string;
  /** How long each window lasts from a start, in elapsed time (a duration like 8h). */
  duration: string;
  /** IANA time zone of the schedule's wall clock; UTC by default. */
  timeZone?: string;
}

/** No new run starts while set. */
export interface Freeze {
  reason: string;
}

/** Where to POST the StageSet's transitions. */
export interface NotifyTargetSpec {
  url?: string;
  /** A key of a Secret in the StageSet's namespace that holds the URL (read as the StageSet's ServiceAccount). */
  secretRef?: { name: string; key: string };
  events: ("RunStarted" | "StageReady" | "ApprovalRequired" | "Degraded" | "Failed" | "Succeeded")[];
  format?: "cloudevents" | "slack";
}

/** Another StageSet, or one stage of it, that must be Ready before a new run starts. */
export interface DependencyRef {
  name: string;
  /** Defaults to the dependent's namespace. */
  namespace?: string;
  stage?: string;
}

export interface StageSetSpec {
  stages: Stage[];
  interval?: string;
  retryInterval?: string;
  timeout?: string;
  suspend?: boolean;
  /** Act as this ServiceAccount of the StageSet's namespace. */
  serviceAccountName?: string;
  dependsOn?: DependencyRef[];
  windows?: ChangeWindow[];
  freeze?: Freeze;
  notify?: NotifyTargetSpec[];
}

export type ConditionStatus = "True" | "False" | "Unknown";

export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export type StagePhase = "Pending" | "Applying" | "Waiting" | "Ready" | "Degraded" | "Failed" | "Pruning" | "Deleting";

export interface StageStatus {
  name: string;
  phase: StagePhase;
  /** The revision last tried: the pinned one, or a newer one that failed before it could be pinned. */
  attemptedRevision?: string;
  attemptedDigest?: string;
  /** The last revision applied and verified Ready (its objects stay while a newer one fails). */
  appliedRevision?: string;
  appliedDigest?: string;
  /** The StageSet generation under which the applied revision was last verified Ready. */
  verifiedGeneration?: number;
  objects?: number;
  /** When this stage was last applied; a stage applied before runStartedAt is not part of the run. */
  lastAppliedTime?: string;
  /** When this stage's soak ends, once it has started. */
  soakEndsAt?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** An approval of one stage at one revision, as the admission webhook recorded it. */
export interface ApprovalRecord {
  stage: string;
  revision: string;
  /** The digest of the stage's artifact at that revision when it was approved: a republish under the same revision is not approved. */
  digest?: string;
  approvedBy: string;
  approvedAt: string;
}

/** One action's entry in the ledger: at most one per stage, hook, name and revision. */
export interface ActionRecord {
  stage: string;
  hook: "pre" | "post" | "onFailure";
  name: string;
  /** The stage's pinned revision the action ran for: a new revision runs it again. */
  revision: string;
  phase: "Running" | "Succeeded" | "Failed";
  attempts: number;
  startedAt: string;
  finishedAt?: string;
  /** A Job action's Job, so a restart adopts it instead of creating another. */
  job?: string;
  message?: string;
}

export interface StageSetStatus {
  observedGeneration?: number;
  lastHandledReconcileAt?: string;
  runStartedAt?: string;
  runGeneration?: number;
  currentStage?: string;
  currentRevision?: string;
  lastAttemptedRevisions?: Record<string, string>;
  lastAppliedRevisions?: Record<string, string>;
  conditions?: Condition[];
  stages?: StageStatus[];
  /** The actions ledger: what ran for the pinned revisions, recorded before the next one starts. */
  actions?: ActionRecord[];
  /** The latest approval per stage (from the stageset.dev/approvals annotation, which only the admission webhook writes). */
  approvals?: ApprovalRecord[];
}

export class StageSet extends a.GenericKind {
  declare spec?: StageSetSpec;
  declare status?: StageSetStatus;
}

RegisterKind(StageSet, StageSetGVK);
