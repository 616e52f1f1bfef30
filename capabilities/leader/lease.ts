// The effectful half of leader election: reads and writes the Lease (every write
// preconditioned on the resourceVersion read), on a timer. A candidate tries every retry
// period; the leader renews on the same period and stops leading, by its own clock, once it
// has not renewed for the renew deadline, which is shorter than the lease, so it has stopped
// before anyone else may start. stop() releases a held Lease, so a successor need not wait:
// candidates also watch the Lease, and try at once when it is released or deleted.
import { Informer, KubeApiError, type KubeClient } from "../kube";
import { decide, observe, released, type ElectionConfig, type LeaseSpec, type Observed } from "./election";

interface Lease {
  apiVersion: "coordination.k8s.io/v1";
  kind: "Lease";
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: LeaseSpec;
}

export interface ElectorHooks {
  /** This replica now leads. */
  started(): void;
  /** This replica no longer leads (lost, or stepped down). */
  stopped(): void;
  log(message: string, fields?: Record<string, unknown>): void;
}

export class Elector {
  private leadingSince?: number;
  /** When this replica last wrote the Lease successfully (its own clock). */
  private renewedAt = 0;
  private observed?: Observed;
  private resourceVersion?: string;
  /** When the Lease another holds becomes free, by this replica's clock, if it is not renewed before. */
  private freeAt?: number;
  private timer?: NodeJS.Timeout;
  private stopping = false;
  private attempt?: Promise<void>;
  private watch?: Informer<Lease>;

  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly name: string,
    private readonly cfg: ElectionConfig,
    private readonly hooks: ElectorHooks,
    private readonly now: () => number = Date.now,
  ) {}

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.namespace)}/leases/${encodeURIComponent(this.name)}`;
  }

  start(): void {
    const released = (lease: Lease, gone: boolean) => {
      if (lease.metadata.name !== this.name || this.leadingSince !== undefined || this.attempt || (!gone && lease.spec?.holderIdentity)) return;
      clearTimeout(this.timer);
      this.schedule(0);
    };
    this.watch = new Informer<Lease>(this.client, this.path.slice(0, this.path.lastIndexOf("/")), { upsert: l => released(l, false), remove: l => released(l, true) }, { fieldSelector: `metadata.name=${this.name}` }).start();
    this.schedule(0);
  }

  /** Leading, and renewed within the renew deadline: checked before every write, so a paused leader that wakes up writes nothing. */
  isLeader(): boolean {
    return !this.stopping && this.leadingSince !== undefined && this.now() - this.renewedAt < this.cfg.renewDeadlineMs;
  }

  /** The identity the Lease names now, as last read (empty when released or unknown). */
  holder(): string {
    return this.observed?.spec.holderIdentity ?? "";
  }

  /**
   * Stops trying. A leader stops leading at once (isLeader() is false from here on), lets its
   * work in flight notice (drained, bounded by the caller), then releases the Lease (best effort).
   */
  async stop(drained: () => Promise<void> = async () => {}): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    this.watch?.stop();
    await Promise.race([this.attempt, new Promise(ok => setTimeout(ok, 1_000).unref())]);
    if (this.leadingSince === undefined) return;
    this.leadingSince = undefined; // no hooks: the process is going, nothing is to be looked at again
    this.hooks.log("stepping down", {});
    await drained();
    if (!this.observed || !this.resourceVersion) return;
    try {
      await this.client.request("PUT", this.path, { body: this.lease(released(this.observed.spec, this.now())), timeoutMs: 2_000 });
    } catch (err) {
      this.hooks.log("could not release the lease; the next leader waits for it to expire", { err: String(err) });
    }
  }

  private schedule(ms: number): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => {
      this.attempt = this.tryOnce().finally(() => {
        this.attempt = undefined;
        this.schedule(this.nextDelayMs());
      });
    }, ms);
    this.timer.unref?.();
  }

  /**
   * The leader renews every retry period. A candidate waits a little longer (client-go's
   * jitter, so the leader's renewal wins ties), but tries right when the Lease it watches
   * would expire, so a dead leader is replaced after the lease duration, not up to a period later.
   */
  private nextDelayMs(): number {
    if (this.leadingSince !== undefined) return this.cfg.retryPeriodMs;
    const jittered = this.cfg.retryPeriodMs * (1 + Math.random() * 0.2);
    return this.freeAt === undefined ? jittered : Math.min(jittered, Math.max(0, this.freeAt - this.now()) + 10);
  }

  private async tryOnce(): Promise<void> {
    // Past the renew deadline before this attempt, steps were already refused: even if this
    // renewal works, leading restarts (hooks called) so that refused work is looked at again.
    const lapsed = this.leadingSince !== undefined && !this.isLeader();
    let result: "ok" | "held" | "failed" = "failed";
    try {
      result = await this.acquireOrRenew();
    } catch (err) {
      this.hooks.log("lease attempt failed", { err: err instanceof Error ? err.message : String(err) });
    }
    if (this.stopping) {
      if (result === "ok") this.leadingSince ??= this.now(); // so that stop() releases what this attempt took
      return;
    }
    if (this.leadingSince !== undefined) {
      if (result === "held") this.lose(`the lease is held by ${this.holder()}`);
      else if (lapsed || (result === "failed" && this.now() - this.renewedAt >= this.cfg.renewDeadlineMs)) this.lose(`could not renew the lease for ${this.cfg.renewDeadlineMs} ms`);
    }
    if (result === "ok" && this.leadingSince === undefined) {
      this.leadingSince = this.now();
      this.hooks.log("became leader", { lease: `${this.namespace}/${this.name}`, identity: this.cfg.identity });
      this.hooks.started();
    }
  }

  private lose(why: string): void {
    this.leadingSince = undefined;
    this.hooks.log("stopped leading", { why });
    this.hooks.stopped();
  }

  private async acquireOrRenew(): Promise<"ok" | "held" | "failed"> {
    const timeoutMs = Math.min(this.cfg.renewDeadlineMs, 5_000);
    const res = await this.client.get<Lease>(this.path, { allow: [404], timeoutMs });
    const now = this.now();
    const current = res.status === 404 ? undefined : res.body;
    this.observed = current ? observe(this.observed, current.spec ?? {}, now) : undefined;
    this.resourceVersion = current?.metadata.resourceVersion;
    const decision = decide(this.cfg, this.observed, now);
    this.freeAt = decision.kind === "held" ? decision.freeAt : undefined;
    if (decision.kind === "held") return "held";
    try {
      const body = this.lease(decision.spec);
      const written = decision.kind === "create"
        ? await this.client.request<Lease>("POST", this.path.slice(0, this.path.lastIndexOf("/")), { body, timeoutMs })
        : await this.client.request<Lease>("PUT", this.path, { body, timeoutMs });
      this.observed = { spec: written.body.spec, since: now };
      this.resourceVersion = written.body.metadata.resourceVersion;
      this.renewedAt = now;
      return "ok";
    } catch (err) {
      if (err instanceof KubeApiError && (err.status === 409 || err.status === 422)) return "failed"; // someone else wrote first
      throw err;
    }
  }

  private lease(spec: LeaseSpec): Lease {
    return { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: this.name, namespace: this.namespace, resourceVersion: this.resourceVersion }, spec };
  }
}
