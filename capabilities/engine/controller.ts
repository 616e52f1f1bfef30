// The engine's front door. Watch events only enqueue keys: a StageSet when its generation,
// deletion or reconcile request changes (not our own status writes); every StageSet that
// references a source when that source's artifact changes, in any namespace (the controller's
// own source watch); and a StageSet whose followed stage turned unhealthy or healthy again.
// The queue then reconciles from a fresh read.
import { Log } from "pepr";
import { resolveRef, sourceKey, type StageSet } from "../api";
import { OwnerLabel } from "../apply";
import { allowlistProblems, type Lookup } from "../actions";
import { defaultLimits } from "../artifacts";
import { ReadinessView } from "../gate";
import { Discovery, KubeClient } from "../kube";
import { Elector, leaderElectionFromEnv, type LeaderElection } from "../leader";
import { EngineMetrics, type ReconcileResult } from "../metrics";
import { reconcile, requestedAtAnnotation } from "./reconcile";
import { follow } from "./follow";
import type { EngineDeps } from "./run";
import { ArtifactCache } from "./sources";
import { SourceWatch } from "./source-watch";
import { LiveHealth } from "./live-health";
import { ApplySnapshots } from "./apply-snapshots";
import { eventRecorder, keyString } from "./status";
import { WorkQueue, type Outcome } from "./queue";
import { durationOr, parseDuration, stageSetsPath } from "../api";
import { InitialSync } from "./initial-sync";
import { notifierFor } from "./notifications";
import { approvalsAnnotation, dependencyKeys, unadmittedNamespaces, type ResolvedDependency } from "../promotion";

export interface ControllerOptions {
  /** Only these namespaces' StageSets (default: all). */
  namespaces?: string[];
  concurrency?: number;
  applyConcurrency?: number;
  client?: KubeClient;
  /** Default: STAGESET_ACTION_ALLOWLIST, comma-separated. */
  actionAllowlist?: string[];
  lookup?: Lookup;
  /** Default: STAGESET_DEFAULT_SERVICE_ACCOUNT. */
  defaultServiceAccount?: string;
  /** Default: STAGESET_NO_CROSS_NAMESPACE_REFS=true. */
  noCrossNamespaceRefs?: boolean;
  /** Default: STAGESET_MAX_MANIFEST_NODES, else 50,000. */
  maxManifestNodes?: number;
  /** Ready anyway this long after the start when the view is not whole yet. Default: STAGESET_SYNC_DEADLINE, else 2m. */
  syncDeadlineMs?: number;
  /** Reconcile only while holding this Lease (follow otherwise); false: always. Default: leaderElectionFromEnv(). */
  leaderElection?: LeaderElection | false;
}

interface Seen {
  generation?: number;
  requestedAt?: string;
  deleting: boolean;
  /** Source keys (Kind.group/namespace/name) of its stages. */
  sources: string[];
  retryMaxMs: number;
  /** What the leader last recorded as verified, per stage: a replica that follows looks again when it moves. */
  verified: string;
  /** The approvals the admission webhook recorded: a new one may let a held stage go on. */
  approvals?: string;
  /** The StageSets (namespace/name) of its spec.dependsOn. */
  dependsOn: string[];
}

export class Controller {
  readonly queue: WorkQueue;
  readonly deps: EngineDeps;
  /** Every StageSet's stage readiness from the watches: what the gate and the gauge answer from. */
  readonly view: ReadinessView;
  readonly metrics: EngineMetrics;
  readonly sources: SourceWatch;
  readonly liveHealth: LiveHealth;
  /** Absent without leader election: this process always leads. */
  readonly elector?: Elector;
  private seen = new Map<string, Seen>();
  /** Each StageSet's stage readiness as last seen, so its dependents are woken only when it moves. */
  private readinessSeen = new Map<string, string>();
  private readonly namespaces?: Set<string>;
  private readonly initialSync = new InitialSync();
  /** Once synced, a replica stays ready: a watch a StageSet adds later must not take every replica out of the gate Service at once. */
  private latched = false;
  private readonly syncDeadlineMs: number;
  private readonly startedAt = Date.now();
  private stopped = false;

  constructor(opts: ControllerOptions = {}) {
    const namespaces = opts.namespaces ?? namespacesFromEnv();
    this.namespaces = namespaces ? new Set(namespaces) : undefined;
    const client = opts.client ?? KubeClient.fromDefault();
    const log = Log.child({ component: "engine" });
    const discovery = new Discovery(client);
    const actionAllowlist = opts.actionAllowlist ?? actionAllowlistFromEnv();
    this.sources = new SourceWatch(client, discovery, {
      changed: source => this.wakeReferrers(s => s === source),
      kindReady: kind => this.wakeReferrers(s => s.startsWith(`${kind}/`)),
      refused: (kind, detail) => log.warn({ kind, detail }, "the controller may not list and watch this source kind: the gates of stages from it stay closed until it may"),
    });
    // Only objects of the StageSets this controller serves: all that carry our label, or those of its namespaces.
    const selector = namespaces ? `${OwnerLabel.namespace} in (${namespaces.join(",")})` : OwnerLabel.stageSet;
    this.liveHealth = new LiveHealth(client, selector, (namespace, name) => this.wake(keyString({ namespace, name })), message => log.warn(message));
    this.view = new ReadinessView({
      published: source => this.sources.published(source),
      healthy: (namespace, stageset, stage, verification) => this.liveHealth.healthy(namespace, stageset, stage, verification),
    });
    this.metrics = new EngineMetrics(this.view);
    this.deps = {
      client,
      discovery,
      liveHealth: this.liveHealth,
      applySnapshots: new ApplySnapshots(),
      artifacts: new ArtifactCache(this.metrics, { ...defaultLimits, maxManifestNodes: opts.maxManifestNodes ?? positiveInteger("STAGESET_MAX_MANIFEST_NODES") ?? defaultLimits.maxManifestNodes }, undefined, { allowlist: actionAllowlist, lookup: opts.lookup }),
      events: eventRecorder(client, (msg, err) => log.debug({ err: String(err) }, msg)),
      log,
      now: Date.now,
      applyConcurrency: opts.applyConcurrency ?? 32,
      metrics: this.metrics,
      actionAllowlist,
      lookup: opts.lookup,
      defaultServiceAccount: opts.defaultServiceAccount ?? (process.env.STAGESET_DEFAULT_SERVICE_ACCOUNT || undefined),
      noCrossNamespaceRefs: opts.noCrossNamespaceRefs ?? process.env.STAGESET_NO_CROSS_NAMESPACE_REFS === "true",
      dependencyNotReady: d => this.dependencyNotReady(d),
      // Pepr's webhooks leave these out (its defaults, and the chart's additionalIgnoredNamespaces).
      unadmittedNamespaces: [...unadmittedNamespaces, ...envList("PEPR_ADDITIONAL_IGNORED_NAMESPACES")],
    };
    // Notifications go through the same SSRF guard and allowlist as http actions.
    this.deps.notifications = notifierFor(this.metrics, this.deps.events, { allowlist: actionAllowlist, lookup: opts.lookup });
    this.syncDeadlineMs = opts.syncDeadlineMs ?? durationFromEnv("STAGESET_SYNC_DEADLINE") ?? 120_000;
    this.elector = this.electorFor(opts.leaderElection ?? leaderElectionFromEnv());
    this.queue = new WorkQueue(key => this.reconcile(key), {
      concurrency: opts.concurrency ?? 8,
      baseBackoffMs: 1_000,
      maxBackoffMs: key => this.seen.get(key)?.retryMaxMs ?? 5 * 60_000,
      onError: (key, err) => log.debug({ key, err: err instanceof Error ? err.message : String(err) }, "retrying with backoff"),
    });
    this.elector?.start();
    void this.listAtStart();
  }

  /**
   * This replica's view is whole (its readiness): every StageSet there was at start has been
   * read and followed or reconciled once, and every watch its gate answers from has listed.
   */
  synced(): boolean {
    if (this.latched) return true;
    const whole = this.initialSync.complete && this.liveHealth.watchesSynced() && this.sources.watchesSynced();
    const late = this.initialSync.listedAt !== undefined && Date.now() - this.startedAt > this.syncDeadlineMs;
    if (!whole && !late) return false;
    this.latched = true;
    if (whole) this.deps.log.info("this replica's view is synced: ready");
    else this.deps.log.warn({ stageSetsLeft: this.initialSync.left, objectWatchesListed: this.liveHealth.watchesSynced(), sourceWatchesListed: this.sources.watchesSynced() }, `this replica's view is not whole ${this.syncDeadlineMs / 1000} s after its start: ready anyway, the gates of what it could not follow stay closed`);
    return true;
  }

  /** The StageSets there are now, for synced(); tried again every 2 s until the API server answers. */
  private async listAtStart(): Promise<void> {
    const log = this.deps.log;
    const paths = this.namespaces ? [...this.namespaces].map(ns => stageSetsPath(ns)) : [stageSetsPath()];
    // Pepr's watch never delivers these: they are not ours to wait for.
    const ignored = new Set(envList("PEPR_ADDITIONAL_IGNORED_NAMESPACES"));
    while (!this.stopped) {
      try {
        const lists = await Promise.all(paths.map(p => this.deps.client.get<{ items: StageSet[] }>(p)));
        const items = lists.flatMap(l => l.body.items).filter(ss => !ignored.has(ss.metadata!.namespace!));
        const key = (ss: StageSet) => keyString({ namespace: ss.metadata!.namespace!, name: ss.metadata!.name! });
        this.initialSync.listed(items.map(key), Date.now());
        // Seen now, as a watch event would (the view, the sources, the queue), not only once Pepr's
        // watch starts: one deleted before then is found gone. Not over what the watch already gave.
        for (const ss of items) if (!this.seen.has(key(ss))) this.onStageSet(ss);
        log.info({ stageSets: this.initialSync.left }, "listed the StageSets to sync before this replica is ready");
        return;
      } catch (err) {
        log.warn({ err: err instanceof Error ? err.message : String(err) }, "cannot list StageSets yet: this replica stays not ready");
        await new Promise(ok => setTimeout(ok, 2_000).unref());
      }
    }
  }

  private electorFor(election: LeaderElection | false | undefined): Elector | undefined {
    if (!election) return undefined;
    // On every change of role each StageSet is looked at again: the new leader reconciles them, a former one follows them.
    const again = () => { for (const key of this.seen.keys()) this.queue.add(key); };
    const elector = new Elector(this.deps.client, election.namespace, election.name, election, { started: again, stopped: again, log: (msg, fields) => this.deps.log.info({ ...fields }, msg) });
    this.deps.leading = () => elector.isLeader();
    return elector;
  }

  /** This replica reconciles: no election, or it holds the Lease. */
  leading(): boolean {
    return !this.elector || this.elector.isLeader();
  }

  /** A StageSet was added, changed or deleted. */
  onStageSet(ss: StageSet, deleted = false): void {
    if (this.namespaces && !this.namespaces.has(ss.metadata?.namespace ?? "")) return;
    const key = keyString({ namespace: ss.metadata!.namespace!, name: ss.metadata!.name! });
    if (deleted) {
      this.view.remove(ss.metadata!.namespace!, ss.metadata!.name!);
      this.liveHealth.unfollow(ss.metadata!.namespace!, ss.metadata!.name!);
      this.seen.delete(key);
      this.queue.add(key); // the fresh read finds it gone (or still finalizing) and settles it
      this.wakeDependents(key);
      return;
    }
    this.view.update(ss);
    this.wakeDependents(key);
    const refs = (ss.spec?.stages ?? []).map(s => resolveRef(s.sourceRef ?? { name: "" }, ss.metadata!.namespace!));
    for (const ref of refs) this.sources.follow(ref);
    const next: Seen = {
      generation: ss.metadata?.generation,
      requestedAt: ss.metadata?.annotations?.[requestedAtAnnotation],
      deleting: !!ss.metadata?.deletionTimestamp,
      sources: refs.map(sourceKey),
      retryMaxMs: durationOr(durationOr(10 * 60_000, ss.spec?.interval), ss.spec?.retryInterval),
      verified: JSON.stringify((ss.status?.stages ?? []).map(s => [s.name, s.phase, s.appliedDigest, s.verifiedGeneration])),
      approvals: ss.metadata?.annotations?.[approvalsAnnotation],
      dependsOn: dependencyKeys(ss),
    };
    const prev = this.seen.get(key);
    this.seen.set(key, next);
    const moved = !prev || prev.generation !== next.generation || prev.requestedAt !== next.requestedAt || prev.deleting !== next.deleting || prev.approvals !== next.approvals;
    if (moved || (prev.verified !== next.verified && !this.leading())) this.queue.add(key);
  }

  /** A source's artifact moved (or its kind became served): wake the StageSets that reference it. */
  private wakeReferrers(matches: (source: string) => boolean): void {
    for (const [key, seen] of this.seen) if (seen.sources.some(matches)) this.wake(key);
  }

  /** Look at the StageSet again, and at those that wait for it if its readiness moved. */
  private wake(key: string): void {
    this.queue.add(key);
    this.wakeDependents(key);
  }

  /**
   * A StageSet's readiness (its gates, as the view answers them) may have moved: the
   * StageSets whose spec.dependsOn names it look again, woken by this event rather than a poll.
   */
  private wakeDependents(key: string): void {
    const { namespace, name } = parseKey(key);
    const readiness = this.view.stagesOf(namespace, name)?.map(s => `${s.stage}=${s.ready}`).join(",") ?? "absent";
    if (this.readinessSeen.get(key) === readiness) return;
    if (readiness === "absent") this.readinessSeen.delete(key);
    else this.readinessSeen.set(key, readiness);
    for (const [dependent, seen] of this.seen) if (seen.dependsOn.includes(key)) this.queue.add(dependent);
  }

  /** Why a dependency is not Ready by the gate's definition (the view the gate answers from); undefined when it is. */
  private dependencyNotReady(d: ResolvedDependency): string | undefined {
    if (this.namespaces && !this.namespaces.has(d.namespace)) return `namespace ${d.namespace} is not served by this controller (STAGESET_WATCH_NAMESPACES)`;
    const stages = this.view.stagesOf(d.namespace, d.name);
    if (!stages) return "not found";
    const wanted = d.stage ? stages.filter(s => s.stage === d.stage) : stages;
    if (wanted.length === 0) return `it has no stage ${d.stage}`;
    const closed = wanted.filter(s => !s.ready);
    if (closed.length === 0) return undefined;
    return closed.map(s => `stage ${s.stage} not Ready (${s.phase})`).join(", ");
  }

  private async reconcile(key: string): Promise<Outcome> {
    const started = performance.now();
    let result: ReconcileResult = "error";
    let outcome: Outcome | undefined;
    try {
      outcome = this.leading() ? await reconcile(this.deps, parseKey(key)) : await follow(this.deps, parseKey(key));
      result = resultOf[outcome.kind];
      return outcome;
    } finally {
      // What this reconcile followed may have opened its gates without a status write (after a restart): those waiting for it look again.
      this.wakeDependents(key);
      // Followed or reconciled whole; a failure or a stage not followed yet keeps it pending (until the sync deadline).
      if (outcome && outcome.kind !== "retry" && !("partial" in outcome && outcome.partial)) this.initialSync.done(key);
      this.metrics.reconciled(result, (performance.now() - started) / 1000);
    }
  }

  /** Graceful: stops reconciling and hands the Lease over (released, so the next leader need not wait it out). */
  async stepDown(): Promise<void> {
    // Reconciles in flight stop at their next check; the Lease is released once they have (or after 1.5 s).
    await this.elector?.stop(() => this.queue.drained(1_500));
  }

  stop(): void {
    this.stopped = true;
    void this.elector?.stop();
    this.sources.stop();
    this.liveHealth.stop();
    this.queue.stop();
    this.deps.notifications?.notifier.stop();
    this.deps.client.close();
  }
}

const resultOf: Record<Outcome["kind"], ReconcileResult> = { resync: "success", forget: "success", requeue: "requeue", retry: "error", stalled: "stalled" };

/** A bad entry stops the controller at start: a silently ignored allowlist would surprise. */
function actionAllowlistFromEnv(): string[] {
  const list = envList("STAGESET_ACTION_ALLOWLIST");
  const problems = allowlistProblems(list);
  if (problems.length > 0) throw new Error(`STAGESET_ACTION_ALLOWLIST: ${problems.join("; ")}`);
  return list;
}

/** STAGESET_WATCH_NAMESPACES=a,b: serve only StageSets in these namespaces (default: all). */
function namespacesFromEnv(): string[] | undefined {
  const list = envList("STAGESET_WATCH_NAMESPACES");
  return list.length > 0 ? list : undefined;
}

/** A comma-separated list from the environment, blanks dropped. */
function envList(name: string): string[] {
  return (process.env[name] ?? "").split(",").map(s => s.trim()).filter(Boolean);
}

function parseKey(key: string): { namespace: string; name: string } {
  const [namespace, name] = key.split("/");
  return { namespace: namespace!, name: name! };
}

/** A duration ("90s", "2m") from the environment; undefined when unset; an error when malformed. */
function durationFromEnv(name: string): number | undefined {
  return fromEnv(name, parseDuration, "a duration such as 90s or 2m");
}

/** A value parsed from the environment; undefined when unset; an error naming what was expected when malformed. */
function fromEnv(name: string, parse: (raw: string) => number | undefined, expected: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = parse(raw);
  if (value === undefined) throw new Error(`${name}=${JSON.stringify(raw)} is not ${expected}`);
  return value;
}

/** A whole number above zero from the environment; undefined when unset; an error when malformed. */
function positiveInteger(name: string): number | undefined {
  return fromEnv(name, raw => (Number.isInteger(Number(raw)) && Number(raw) > 0 ? Number(raw) : undefined), "a whole number above zero");
}
