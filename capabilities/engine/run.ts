// The state one reconcile works on: the StageSet read fresh, its status being rewritten,
// and the services it talks through. `save` writes the status the user sees.
import { isDeepStrictEqual } from "node:util";
import type { Log } from "pepr";
import type { Stage, StageSet, StageSetStatus, StageStatus } from "../api";
import type { KubeObject, Owner } from "../apply";
import type { CompiledExprs } from "../health";
import { KubeApiError, type Discovery, type KubeClient } from "../kube";
import type { EngineMetrics } from "../metrics";
import type { Lookup } from "../actions";
import { formatInstant, type ResolvedDependency } from "../promotion";
import type { Notifier, Transition } from "../notify";
import { withStage } from "./plan";
import type { ArtifactCache, ResolvedSource } from "./sources";
import type { LiveHealth } from "./live-health";
import type { ApplySnapshots } from "./apply-snapshots";
import { readStageSet, writeStatus, type EventRecorder, type StageSetKey } from "./status";

export type Logger = typeof Log;

export interface EngineDeps {
  client: KubeClient;
  discovery: Discovery;
  artifacts: ArtifactCache;
  /** Follows verified stages' objects from watches (the gate's live health). */
  liveHealth?: LiveHealth;
  /** Across reconciles: objects whose status cannot say which generation it describes (apply-snapshots.ts). */
  applySnapshots?: ApplySnapshots;
  events: EventRecorder;
  log: Logger;
  now: () => number;
  /** Parallel applies within one stage. */
  applyConcurrency: number;
  metrics: EngineMetrics;
  /** Hosts, addresses or CIDRs that http actions may reach although the SSRF guard refuses them. */
  actionAllowlist?: readonly string[];
  /** DNS for http actions (tests map names to loopback); default the system resolver. */
  lookup?: Lookup;
  /** The ServiceAccount a StageSet that names none acts as (STAGESET_DEFAULT_SERVICE_ACCOUNT). */
  defaultServiceAccount?: string;
  /** Refuse sourceRefs into other namespaces (STAGESET_NO_CROSS_NAMESPACE_REFS). */
  noCrossNamespaceRefs?: boolean;
  /** Why a dependency (spec.dependsOn) is not Ready by the gate's definition; undefined when it is. */
  dependencyNotReady?: (dependency: ResolvedDependency) => string | undefined;
  /** spec.notify: the Notifier that delivers in the background, and how a failure is reported (absent: none are sent). */
  notifications?: { notifier: Notifier; failed(t: Transition, reason: string, message: string): void };
  /** Namespaces whose StageSets the admission webhook does not see: approvals recorded there are not honoured. */
  unadmittedNamespaces?: readonly string[];
  /** Whether this replica leads (leader election); checked before each step and each status write. Absent: always. */
  leading?: () => boolean;
}

/** This replica lost its Lease mid-reconcile: what it was about to do is abandoned, the leader redoes it. */
export class NotLeading extends Error {
  constructor() {
    super("this replica no longer leads: the step is abandoned to the leader");
    this.name = "NotLeading";
  }
}

export function assertLeading(deps: EngineDeps): void {
  if (deps.leading && !deps.leading()) throw new NotLeading();
}

export interface Run {
  deps: EngineDeps;
  /**
   * Who acts on the StageSet's behalf: its ServiceAccount (impersonated), else the controller.
   * Every read and write of release objects, parents, checks and actions goes through it;
   * the StageSet's own status, finalizer and sources are the controller's business (deps.client).
   */
  client: KubeClient;
  /** The ServiceAccount acted as, namespace/name, for messages; undefined when the controller acts itself. */
  serviceAccount?: string;
  key: StageSetKey;
  ss: StageSet;
  /** The StageSet's resourceVersion as this run last read or wrote it: every status write is preconditioned on it. */
  resourceVersion: string;
  /** The status as the API server holds it after this run's last read or write. */
  savedStatus: StageSetStatus;
  generation: number;
  stages: Stage[];
  stageNames: string[];
  status: StageSetStatus;
  sources: Map<string, ResolvedSource>;
  exprs: Map<string, CompiledExprs | undefined>;
  /** The stage being worked on, named in failures. */
  stage?: string;
  /** Each stage's objects, parsed once per reconcile. */
  objects: Map<string, Promise<KubeObject[]>>;
  /** Objects as the API server returned them from this reconcile's apply: the first health check needs no reads. */
  live: Map<string, KubeObject[]>;
  /** A verified stage could not be followed for live health in this reconcile: come back soon. */
  unfollowed?: boolean;
}

export function newRun(deps: EngineDeps, key: StageSetKey, ss: StageSet): Run {
  const stages = ss.spec?.stages ?? [];
  const sa = ss.spec?.serviceAccountName || deps.defaultServiceAccount;
  return {
    deps,
    client: sa ? deps.client.asServiceAccount(key.namespace, sa) : deps.client,
    serviceAccount: sa ? `${key.namespace}/${sa}` : undefined,
    key,
    ss,
    resourceVersion: ss.metadata?.resourceVersion ?? "",
    savedStatus: structuredClone(ss.status ?? {}),
    generation: ss.metadata?.generation ?? 0,
    stages,
    stageNames: stages.map(s => s.name),
    status: structuredClone(ss.status ?? {}),
    sources: new Map(),
    exprs: new Map(),
    objects: new Map(),
    live: new Map(),
  };
}

export const nowISO = (run: Run) => formatInstant(run.deps.now());
// nextStep tells "applied in this run" by lastAppliedTime >= runStartedAt, so these two keep
// milliseconds: whole seconds cannot separate a new run from an apply of the run before it.
export const nowISOPrecise = (run: Run) => new Date(run.deps.now()).toISOString();

export function stageSpec(run: Run, name: string): Stage {
  return run.stages.find(s => s.name === name)!;
}

/** Who owns a stage's objects: the labels prune checks and the ApplySet parent's name. */
export function ownerOf(run: Run, stage: string): Owner {
  return { stageSet: run.key.name, namespace: run.key.namespace, stage };
}

export function pinnedArtifact(run: Run, stage: string) {
  return run.sources.get(stage)!.artifact;
}

/** Sets one stage's status; lastTransitionTime moves only when the phase changes. */
export function setStage(run: Run, next: Omit<StageStatus, "lastTransitionTime">): void {
  const prev = run.status.stages?.find(s => s.name === next.name);
  const lastTransitionTime = prev && prev.phase === next.phase && prev.lastTransitionTime ? prev.lastTransitionTime : nowISO(run);
  run.status = withStage(run.status, run.stageNames, { ...prev, ...next, lastTransitionTime });
}

/**
 * Writes the status, preconditioned on the resourceVersion this run last saw. A change by
 * someone else to metadata or spec (a label, an annotation, a spec edit) is no reason to give
 * up: while the status on the server is still the one this run last read or wrote, the write
 * is made again on the new resourceVersion. A status someone else wrote (a second controller,
 * a stale one waking up) ends the run with the 409; the next reconcile starts from a fresh read.
 */
export async function save(run: Run): Promise<void> {
  assertLeading(run.deps);
  let written: StageSet;
  try {
    written = await writeStatus(run.deps.client, run.key, run.status, run.resourceVersion);
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 409)) throw err;
    const current = await readStageSet(run.deps.client, run.key);
    if (!current?.metadata?.resourceVersion || !isDeepStrictEqual(current.status ?? {}, run.savedStatus)) throw err;
    written = await writeStatus(run.deps.client, run.key, run.status, current.metadata.resourceVersion);
  }
  run.resourceVersion = written.metadata?.resourceVersion ?? run.resourceVersion;
  run.savedStatus = written.status ?? {};
}

/** Records a write to the StageSet's metadata (its finalizer) so the next status write is preconditioned on it. */
export function sawWrite(run: Run, written: StageSet): void {
  run.resourceVersion = written.metadata?.resourceVersion ?? run.resourceVersion;
}

/** `crds@v1@sha256:…, app@…`: the revisions pinned for the run, for Ready messages. */
export function pinnedSummary(run: Run): string {
  const pins = run.status.lastAttemptedRevisions ?? {};
  return run.stageNames.map(n => `${n}@${pins[n]}`).join(", ");
}

/** `1 object Ready`, `3 objects Ready`. */
export const objectsReady = (n: number) => `${n} ${n === 1 ? "object" : "objects"} Ready`;

export function logFields(run: Run, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const stage = run.stage;
  const attempted = stage ? (run.status.stages?.find(s => s.name === stage)?.attemptedRevision ?? run.status.lastAttemptedRevisions?.[stage]) : undefined;
  return { namespace: run.key.namespace, stageset: run.key.name, ...(stage ? { stage, revision: attempted } : {}), ...extra };
}
