// The engine's front door. Watch events only enqueue keys: a StageSet when its generation,
// deletion or reconcile request changes (not our own status writes), and every StageSet
// that references an ExternalArtifact when that artifact's revision changes, in any
// namespace. The queue then reconciles from a fresh read.
import { Log } from "pepr";
import type { ExternalArtifact, StageSet } from "../api";
import { allowlistProblems, type Lookup } from "../actions";
import { ReadinessView } from "../gate";
import { Discovery, KubeClient } from "../kube";
import { EngineMetrics, type ReconcileResult } from "../metrics";
import { reconcile, requestedAtAnnotation } from "./reconcile";
import type { EngineDeps } from "./run";
import { ArtifactCache, sourceKey } from "./sources";
import { eventRecorder, keyString } from "./status";
import { WorkQueue, type Outcome } from "./queue";
import { durationOr } from "../api";

export interface ControllerOptions {
  /** Only these namespaces' StageSets (default: all). */
  namespaces?: string[];
  concurrency?: number;
  applyConcurrency?: number;
  client?: KubeClient;
  /** Default: STAGESET_ACTION_ALLOWLIST, comma-separated. */
  actionAllowlist?: string[];
  lookup?: Lookup;
}

interface Seen {
  generation?: number;
  requestedAt?: string;
  deleting: boolean;
  sources: string[];
  retryMaxMs: number;
}

export class Controller {
  readonly queue: WorkQueue;
  readonly deps: EngineDeps;
  /** Every StageSet's stage readiness as last seen by the watch: what the gate answers from. */
  readonly view = new ReadinessView();
  readonly metrics = new EngineMetrics(this.view);
  private seen = new Map<string, Seen>();
  private artifactRevisions = new Map<string, string | undefined>();
  private readonly namespaces?: Set<string>;

  constructor(opts: ControllerOptions = {}) {
    this.namespaces = opts.namespaces ? new Set(opts.namespaces) : undefined;
    const client = opts.client ?? KubeClient.fromDefault();
    const log = Log.child({ component: "engine" });
    this.deps = {
      client,
      discovery: new Discovery(client),
      artifacts: new ArtifactCache(this.metrics),
      events: eventRecorder(client, (msg, err) => log.debug({ err: String(err) }, msg)),
      log,
      now: Date.now,
      applyConcurrency: opts.applyConcurrency ?? 32,
      metrics: this.metrics,
      actionAllowlist: opts.actionAllowlist ?? actionAllowlistFromEnv(),
      lookup: opts.lookup,
    };
    this.queue = new WorkQueue(key => this.reconcile(key), {
      concurrency: opts.concurrency ?? 8,
      baseBackoffMs: 1_000,
      maxBackoffMs: key => this.seen.get(key)?.retryMaxMs ?? 5 * 60_000,
      onError: (key, err) => log.debug({ key, err: err instanceof Error ? err.message : String(err) }, "retrying with backoff"),
    });
  }

  /** A StageSet was added, changed or deleted. */
  onStageSet(ss: StageSet, deleted = false): void {
    if (this.namespaces && !this.namespaces.has(ss.metadata?.namespace ?? "")) return;
    const key = keyString({ namespace: ss.metadata!.namespace!, name: ss.metadata!.name! });
    if (deleted) {
      this.view.remove(ss.metadata!.namespace!, ss.metadata!.name!);
      this.seen.delete(key);
      this.queue.add(key); // the fresh read finds it gone (or still finalizing) and settles it
      return;
    }
    this.view.update(ss);
    const next: Seen = {
      generation: ss.metadata?.generation,
      requestedAt: ss.metadata?.annotations?.[requestedAtAnnotation],
      deleting: !!ss.metadata?.deletionTimestamp,
      sources: (ss.spec?.stages ?? []).map(s => sourceKey(s, ss.metadata!.namespace!)),
      retryMaxMs: durationOr(durationOr(10 * 60_000, ss.spec?.interval), ss.spec?.retryInterval),
    };
    const prev = this.seen.get(key);
    this.seen.set(key, next);
    if (!prev || prev.generation !== next.generation || prev.requestedAt !== next.requestedAt || prev.deleting !== next.deleting) this.queue.add(key);
  }

  /** An ExternalArtifact changed: wake its referrers when its revision moved. */
  onArtifact(ea: ExternalArtifact, deleted = false): void {
    const source = `${ea.metadata!.namespace}/${ea.metadata!.name}`;
    const revision = deleted ? undefined : ea.status?.artifact?.revision;
    if (this.artifactRevisions.has(source) && this.artifactRevisions.get(source) === revision) return;
    this.artifactRevisions.set(source, revision);
    for (const [key, seen] of this.seen) if (seen.sources.includes(source)) this.queue.add(key);
  }

  private async reconcile(key: string): Promise<Outcome> {
    const started = performance.now();
    let result: ReconcileResult = "error";
    try {
      const outcome = await reconcile(this.deps, parseKey(key));
      result = resultOf[outcome.kind];
      return outcome;
    } finally {
      this.metrics.reconciled(result, (performance.now() - started) / 1000);
    }
  }

  stop(): void {
    this.queue.stop();
    this.deps.client.close();
  }
}

const resultOf: Record<Outcome["kind"], ReconcileResult> = { resync: "success", forget: "success", requeue: "requeue", retry: "error", stalled: "stalled" };

/** A bad entry stops the controller at start: a silently ignored allowlist would surprise. */
function actionAllowlistFromEnv(): string[] {
  const list = (process.env.STAGESET_ACTION_ALLOWLIST ?? "").split(",").map(s => s.trim()).filter(Boolean);
  const problems = allowlistProblems(list);
  if (problems.length > 0) throw new Error(`STAGESET_ACTION_ALLOWLIST: ${problems.join("; ")}`);
  return list;
}

function parseKey(key: string): { namespace: string; name: string } {
  const [namespace, name] = key.split("/");
  return { namespace: namespace!, name: name! };
}
