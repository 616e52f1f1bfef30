// What every source publishes now, followed by one watch per source kind (ExternalArtifact,
// or any kind a sourceRef names). The gate reads it to close the moment a source moves on,
// and the controller is told so it can wake the StageSets that reference the source.
// A kind the API server does not serve (Flux not installed) is waited for, never fatal: the
// watch starts by itself once the CRD appears, and every referrer is woken then.
import { sourceKindKey, type PublishedArtifact, type ResolvedRef } from "../api";
import { Informer, resourcePath, type Discovery, type KubeClient, type Meta } from "../kube";

interface SourceObject extends Meta {
  status?: { artifact?: { revision?: string; digest?: string } };
}

interface KindWatch {
  informer?: Informer<SourceObject>;
  synced: boolean;
  /** Discovery or the watch said the kind is not served (its CRD is absent or was deleted). */
  notServed?: boolean;
  /** The API server refuses the controller's list or watch of the kind: what is published is not known. */
  refused?: boolean;
  published: Map<string, PublishedArtifact>;
}

export interface SourceWatchHandlers {
  /** A source's artifact changed (or the source appeared or went away). */
  changed(sourceKey: string): void;
  /** A source kind became served and listed: every referrer may now make progress. */
  kindReady(kindKey: string): void;
  /** The controller may not list or watch a source kind: its gates stay closed until it may. */
  refused(kindKey: string, detail: string): void;
}

export class SourceWatch {
  private readonly kinds = new Map<string, KindWatch>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly client: KubeClient,
    private readonly discovery: Discovery,
    private readonly handlers: SourceWatchHandlers,
  ) {}

  /** Follow a source kind from now on (idempotent). */
  follow(ref: Pick<ResolvedRef, "apiVersion" | "kind">): void {
    const kindKey = sourceKindKey(ref);
    if (this.stopped || this.kinds.has(kindKey)) return;
    const watch: KindWatch = { synced: false, published: new Map() };
    this.kinds.set(kindKey, watch);
    void this.startWhenServed(kindKey, watch, ref, 1_000);
  }

  /**
   * What the source publishes now: "none" when it does not exist, or its kind is not served at
   * all (no CRD: nothing is published); undefined only while that is not known yet (before the
   * kind's first discovery or list).
   */
  published(sourceKey: string): PublishedArtifact | "none" | undefined {
    const watch = this.kinds.get(sourceKey.slice(0, sourceKey.indexOf("/")));
    if (watch?.notServed) return "none";
    if (!watch?.synced || watch.refused) return undefined;
    return watch.published.get(sourceKey) ?? "none";
  }

  /** The kind is not served: every source of it publishes nothing, and each one's referrers hear so. */
  private notServed(watch: KindWatch): void {
    if (watch.notServed) return;
    watch.notServed = true;
    const keys = [...watch.published.keys()];
    watch.published.clear();
    for (const key of keys) this.handlers.changed(key);
  }

  /** Every source kind followed is known: listed, refused, or not served. */
  watchesSynced(): boolean {
    return [...this.kinds.values()].every(w => w.synced || w.refused || w.notServed);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const w of this.kinds.values()) w.informer?.stop();
  }

  private async startWhenServed(kindKey: string, watch: KindWatch, ref: Pick<ResolvedRef, "apiVersion" | "kind">, delayMs: number): Promise<void> {
    if (this.stopped) return;
    this.discovery.invalidate(ref.apiVersion);
    const resource = await this.discovery.resolve(ref.apiVersion, ref.kind).catch(() => null);
    // Discovery answered that the kind is not served (a failed discovery call tells nothing).
    if (resource === undefined) this.notServed(watch);
    if (!resource) {
      const t = setTimeout(() => (this.timers.delete(t), void this.startWhenServed(kindKey, watch, ref, Math.min(delayMs * 2, 10_000))), delayMs);
      this.timers.add(t);
      return;
    }
    const keyOf = (o: SourceObject) => `${kindKey}/${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
    const set = (o: SourceObject, artifact: PublishedArtifact | undefined) => {
      const key = keyOf(o);
      const prev = watch.published.get(key);
      if (prev?.revision === artifact?.revision && prev?.digest === artifact?.digest) return;
      if (artifact) watch.published.set(key, artifact);
      else watch.published.delete(key);
      if (watch.synced) this.handlers.changed(key);
    };
    watch.informer = new Informer<SourceObject>(this.client, resourcePath(resource), {
      upsert: o => {
        const a = o.status?.artifact;
        set(o, a?.revision && a.digest ? { revision: a.revision, digest: a.digest } : undefined);
      },
      remove: o => set(o, undefined),
      synced: () => {
        const first = !watch.synced;
        watch.synced = true;
        const wasNotServed = watch.notServed;
        watch.notServed = false;
        if (first || wasNotServed) this.handlers.kindReady(kindKey);
      },
      state: (state, detail) => {
        if (state === "NotServed") this.notServed(watch); // the CRD went away: nothing is published
        if (state === "Forbidden" && !watch.refused) {
          watch.refused = true;
          this.handlers.refused(kindKey, detail);
          for (const key of watch.published.keys()) this.handlers.changed(key);
        }
        if (state === "Synced" && watch.refused) {
          watch.refused = false;
          this.handlers.kindReady(kindKey);
        }
      },
    }, { keep: sourceSummary }).start();
  }
}

/** Only what the gate and the wake-ups read: every source of the cluster is held, so keep it small. */
function sourceSummary(o: SourceObject): SourceObject {
  const a = o.status?.artifact;
  return { metadata: { name: o.metadata?.name, namespace: o.metadata?.namespace }, status: a ? { artifact: { revision: a.revision, digest: a.digest } } : {} };
}
