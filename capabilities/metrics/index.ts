// What an operator watches: the stage-ready gauge (the gate's definition of Ready, read from
// the same view at scrape time, so series of removed stages vanish with them) and the
// engine's work: reconciles, applies, prunes, drift, artifact fetches and health waits.
// A registry of our own: Pepr's /metrics (port 3000, HTTPS) has a private registry.
import { Counter, Gauge, Histogram, Registry, type MetricObjectWithValues, type MetricValue } from "prom-client";

export interface ReadinessSource {
  entries(): Iterable<{ namespace: string; stageset: string; stage: string; ready: boolean }>;
}

export type ReconcileResult = "success" | "requeue" | "error" | "stalled";

const durationBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export class EngineMetrics {
  readonly registry = new Registry();
  private readonly reconciles = new Counter({ name: "stageset_reconcile_total", help: "Reconciles by result: success, requeue (waiting on health), error (retried with backoff), stalled.", labelNames: ["result"], registers: [this.registry] });
  private readonly reconcileSeconds = new Histogram({ name: "stageset_reconcile_duration_seconds", help: "Time one reconcile took, by result.", labelNames: ["result"], buckets: durationBuckets, registers: [this.registry] });
  private readonly stageApplies = new Counter({ name: "stageset_stage_applies_total", help: "Stages applied.", registers: [this.registry] });
  private readonly objectsApplied = new Counter({ name: "stageset_objects_applied_total", help: "Objects applied with server-side apply.", registers: [this.registry] });
  private readonly objectsPruned = new Counter({ name: "stageset_objects_pruned_total", help: "Objects deleted by prune or stage teardown.", registers: [this.registry] });
  private readonly driftCorrected = new Counter({ name: "stageset_drift_corrected_total", help: "Objects changed in the cluster and set back when their unchanged revision was applied again.", registers: [this.registry] });
  private readonly fetchBytes = new Counter({ name: "stageset_artifact_fetch_bytes_total", help: "Artifact bytes downloaded.", registers: [this.registry] });
  private readonly fetchSeconds = new Histogram({ name: "stageset_artifact_fetch_duration_seconds", help: "Time to download, verify and extract an artifact, by result.", labelNames: ["result"], buckets: durationBuckets, registers: [this.registry] });
  private readonly notificationsSent = new Counter({ name: "stageset_notifications_total", help: "spec.notify deliveries by result: delivered, or why not (Refused, Rejected, RetriesExhausted, QueueFull, Stopped, SecretUnreadable).", labelNames: ["result"], registers: [this.registry] });
  private readonly healthWaitSeconds = new Histogram({ name: "stageset_health_wait_duration_seconds", help: "Time from a stage's apply until it was Ready.", buckets: durationBuckets, registers: [this.registry] });

  constructor(readiness?: ReadinessSource) {
    if (readiness) new ReadinessGauge(readiness, this.registry);
  }

  reconciled(result: ReconcileResult, seconds: number): void {
    this.reconciles.inc({ result });
    this.reconcileSeconds.observe({ result }, seconds);
  }

  stageApplied(objects: number, drifted: number): void {
    this.stageApplies.inc();
    this.objectsApplied.inc(objects);
    if (drifted > 0) this.driftCorrected.inc(drifted);
  }

  pruned(objects: number): void {
    if (objects > 0) this.objectsPruned.inc(objects);
  }

  artifactFetched(result: "success" | "error", bytes: number, seconds: number): void {
    if (bytes > 0) this.fetchBytes.inc(bytes);
    this.fetchSeconds.observe({ result }, seconds);
  }

  notification(result: string): void {
    this.notificationsSent.inc({ result });
  }

  stageReady(waitedSeconds: number): void {
    this.healthWaitSeconds.observe(waitedSeconds);
  }
}

type Labels = "namespace" | "stageset" | "stage";

/** The gauge's values come straight from the view at scrape time: nothing to set or reset. */
class ReadinessGauge extends Gauge<Labels> {
  constructor(
    private readonly readiness: ReadinessSource,
    registry: Registry,
  ) {
    super({
      name: "stageset_stage_ready",
      help: "1 when the stage is Ready at the revision pinned for the current run (the gate's definition), else 0.",
      labelNames: ["namespace", "stageset", "stage"],
      registers: [registry],
    });
  }

  override async get(): Promise<MetricObjectWithValues<MetricValue<Labels>>> {
    const base = await super.get();
    const values = Array.from(this.readiness.entries(), e => ({ labels: { namespace: e.namespace, stageset: e.stageset, stage: e.stage }, value: e.ready ? 1 : 0 }));
    return { ...base, values };
  }
}
