// Live health of the stages that were verified Ready: one shared watch per kind, selected by
// our ownership label (not a poll per object), and each followed stage re-judged only for the
// object an event touched. A stage that turns unhealthy (or healthy again) is reported at
// once, so the gate closes on the watch event itself and the engine records the change.
//
// Each followed object is in one of three states: "verified" (the engine just saw it healthy,
// and no newer word has come), "judged" (healthy or not, from the watch), or "unknown" (followed
// after a restart, before its kind's watch has listed). A stage with an unknown object has no
// live verdict yet, so the gate falls back to the recorded phase instead of guessing. Watch
// events older than what the engine verified (resourceVersion, when it is a number as etcd's
// are) are ignored, so a late event cannot flap a stage it already saw healthy. A kind the
// controller may not list or watch (403) makes its objects unhealthy, with that reason: health
// nobody can see is not health, and the gate must not stay open on it.
import { describe as describeObject, type KubeObject } from "../apply";
import { hasExprFor, kstatusView, objectHealth, type CompiledExprs } from "../health";
import { Informer, objectKey, type KubeClient, type Meta } from "../kube";

export interface FollowedObject {
  /** The collection path of the object's resource, all namespaces (one watch per path). */
  collection: string;
  /** The object's own API path, to read it whole when the watch cache holds only part of it. */
  path?: string;
  object: KubeObject;
  /** The resourceVersion the engine verified it at; absent when following without a fresh verification. */
  verifiedAt?: string;
  /** The API server does not serve the object's kind (`apiVersion kind`): its health cannot be seen. */
  unserved?: string;
}

interface ObjectState {
  collection: string;
  key: string;
  /** The object's kind (one string shared by every object of it): messages are built only when needed. */
  kind: string;
  verifiedAt?: bigint;
  state: "verified" | "judged" | "unknown";
  /** What is wrong, when judged unhealthy. */
  problem?: string;
}

interface Followed {
  verification: string;
  objects: ObjectState[];
  exprs?: CompiledExprs;
}

export type HealthChange = (namespace: string, stageset: string, stage: string) => void;

export class LiveHealth {
  private readonly informers = new Map<string, Informer<KubeObject & Meta>>();
  private readonly synced = new Set<string>();
  /** Collections whose list or watch the API server refuses, with its words. */
  private readonly refused = new Map<string, string>();
  private readonly stages = new Map<string, Followed>();
  /** collection|namespace/name → the stages that hold that object. */
  private readonly holders = new Map<string, Set<string>>();

  constructor(
    private readonly client: KubeClient,
    /** Only objects carrying this selector are watched (our ownership label). */
    private readonly labelSelector: string,
    private readonly changed: HealthChange,
    private readonly warn: (message: string) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /** Follow a stage's objects as verified (replaces what was followed for that stage). */
  follow(namespace: string, stageset: string, stage: string, verification: string, objects: FollowedObject[], exprs: CompiledExprs | undefined): void {
    const id = stageId(namespace, stageset, stage);
    if (this.stages.get(id)?.verification === verification) return;
    this.unfollow(namespace, stageset, s => s === stage);
    const followed: Followed = {
      verification,
      exprs,
      objects: objects.map(o => {
        const state: ObjectState = { collection: o.collection, key: objectKey(o.object), kind: o.object.kind, verifiedAt: numericVersion(o.verifiedAt), state: o.verifiedAt !== undefined ? "verified" : "unknown" };
        return o.unserved ? { ...state, state: "judged", problem: `${what(state)}: health unknown, the API server does not serve ${o.unserved}` } : state;
      }),
    };
    this.stages.set(id, followed);
    followed.objects.forEach((o, i) => {
      if (objects[i]!.unserved) return;
      const slot = `${o.collection}|${o.key}`;
      let set = this.holders.get(slot);
      if (!set) this.holders.set(slot, (set = new Set()));
      set.add(id);
      this.informerFor(o.collection);
      const given = objects[i]!;
      const cel = hasExprFor(exprs, given.object);
      if (!cel || this.refused.has(o.collection)) this.judge(followed, o, "cache");
      if (given.path && this.mayHaveMissed(o, cel)) void this.readWhole(id, o, given.path);
    });
  }

  /**
   * Whether the cache cannot vouch for an object just followed, so it is read once: a CEL
   * check may read any field while a synced cache may hold only the kstatus view (after a
   * restart nothing else would judge it until its next event), and an event may have come
   * between the engine's own check and now (the object deleted, or changed under CEL).
   */
  private mayHaveMissed(o: ObjectState, cel: boolean): boolean {
    if (!this.synced.has(o.collection) || this.refused.has(o.collection)) return false;
    if (o.state === "unknown") return cel;
    if (o.state !== "verified") return false;
    const cached = this.informers.get(o.collection)?.get(o.key);
    if (!cached) return true;
    const version = numericVersion(cached.metadata?.resourceVersion);
    return cel && version !== undefined && o.verifiedAt !== undefined && version > o.verifiedAt;
  }

  /** Stop following the StageSet's stages (those `which` picks; default all). */
  unfollow(namespace: string, stageset: string, which: (stage: string) => boolean = () => true): void {
    const prefix = stageId(namespace, stageset, "");
    const ids = [...this.stages.keys()].filter(id => id.startsWith(prefix) && which(id.slice(prefix.length)));
    for (const id of ids) {
      const followed = this.stages.get(id);
      if (!followed) continue;
      this.stages.delete(id);
      for (const o of followed.objects) {
        const slot = `${o.collection}|${o.key}`;
        this.holders.get(slot)?.delete(id);
        if (this.holders.get(slot)?.size === 0) this.holders.delete(slot);
      }
    }
  }

  /** Whether this stage is followed at that verification (with or without a verdict yet). */
  follows(namespace: string, stageset: string, stage: string, verification: string): boolean {
    return this.stages.get(stageId(namespace, stageset, stage))?.verification === verification;
  }

  /** Healthy now; undefined when this stage is not followed at that verification, or has no verdict yet. */
  healthy(namespace: string, stageset: string, stage: string, verification: string): boolean | undefined {
    const followed = this.stages.get(stageId(namespace, stageset, stage));
    return followed?.verification === verification ? verdict(followed) : undefined;
  }

  /** What is wrong with a followed stage's objects, one line each (empty when healthy). */
  problems(namespace: string, stageset: string, stage: string): string[] {
    return (this.stages.get(stageId(namespace, stageset, stage))?.objects ?? []).flatMap(o => (o.problem !== undefined ? [o.problem] : []));
  }

  /** The object as the watch last delivered it, if its kind is watched. */
  cached(collection: string, key: string): (KubeObject & Meta) | undefined {
    return this.informers.get(collection)?.get(key);
  }

  /** Every watch of followed objects has listed once (or is refused: its stages stay closed). */
  watchesSynced(): boolean {
    return [...this.informers.keys()].every(c => this.synced.has(c) || this.refused.has(c));
  }

  stop(): void {
    for (const informer of this.informers.values()) informer.stop();
  }

  private informerFor(collection: string): void {
    if (this.informers.has(collection)) return;
    const informer = new Informer<KubeObject & Meta>(
      this.client,
      collection,
      {
        upsert: o => this.touched(collection, objectKey(o), "event", o),
        remove: o => this.touched(collection, objectKey(o), "deleted", o),
        synced: () => {
          this.synced.add(collection);
          this.touchCollection(collection, "cache");
        },
        state: (state, detail) => {
          if (state === "Failing") this.warn(`live health cannot watch ${collection} for now: ${detail}`);
          if (state === "Forbidden") {
            this.warn(`live health may not watch ${collection}: ${detail}`);
            this.refused.set(collection, detail);
            this.touchCollection(collection, "refused");
          }
          if (state === "Synced") this.refused.delete(collection);
        },
      },
      { labelSelector: this.labelSelector, keep: o => (this.needsWhole(collection, o) ? o : kstatusView(o)) },
    );
    this.informers.set(collection, informer);
    informer.start();
  }

  /** A stage holding the object judges its kind with CEL, which may read any field: keep it whole. */
  private needsWhole(collection: string, o: KubeObject & Meta): boolean {
    for (const id of this.holders.get(`${collection}|${objectKey(o)}`) ?? []) if (hasExprFor(this.stages.get(id)?.exprs, o)) return true;
    return false;
  }

  /**
   * Judges a followed object from a fresh read, unless a watch event has judged it meanwhile.
   * A failed read is tried again (backing off to 30 s): nothing else may come to judge it.
   */
  private async readWhole(id: string, o: ObjectState, path: string, retryMs = 1_000): Promise<void> {
    const res = await this.client.get<KubeObject & Meta>(path, { allow: [404] }).catch(err => (this.warn(`live health cannot read ${path}: ${String(err)}`), undefined));
    if (o.state === "judged" || this.stages.get(id)?.objects.includes(o) !== true) return;
    if (!res) return void setTimeout(() => void this.readWhole(id, o, path, Math.min(retryMs * 2, 30_000)), retryMs).unref();
    if (res.status === 404) this.touched(o.collection, o.key, "deleted", undefined, new Set([id]));
    else this.touched(o.collection, o.key, "event", res.body, new Set([id]));
  }

  /** Judges again every followed object of a collection (after a list, or a refusal). */
  private touchCollection(collection: string, how: How): void {
    for (const [slot, ids] of this.holders) if (slot.startsWith(`${collection}|`)) this.touched(collection, slot.slice(collection.length + 1), how, undefined, ids);
  }

  private touched(collection: string, key: string, how: How, obj?: KubeObject, ids = this.holders.get(`${collection}|${key}`)): void {
    for (const id of ids ?? []) {
      const followed = this.stages.get(id);
      const o = followed?.objects.find(x => x.collection === collection && x.key === key);
      if (!followed || !o) continue;
      const was = signature(followed);
      this.judge(followed, o, how, obj);
      if (was !== signature(followed)) {
        const [namespace, stageset, stage] = id.split("/") as [string, string, string];
        this.changed(namespace, stageset, stage);
      }
    }
  }

  private judge(followed: Followed, o: ObjectState, how: How, event?: KubeObject): void {
    const refused = this.refused.get(o.collection);
    if (refused !== undefined) return void Object.assign(o, { state: "judged", problem: `${what(o)}: health unknown, the controller may not watch ${o.collection} (${refused})` });
    // Any word older than what was verified (a late event of an earlier copy) changes nothing.
    const stale = (obj: KubeObject | undefined) => {
      const version = numericVersion(obj?.metadata?.resourceVersion);
      return o.verifiedAt !== undefined && version !== undefined && version < o.verifiedAt;
    };
    if (stale(event)) return;
    if (how === "deleted") return void Object.assign(o, { state: "judged", problem: `${what(o)}: not found` });
    if (!this.synced.has(o.collection)) return;
    const live = event ?? this.informers.get(o.collection)?.get(o.key);
    if (!live) {
      // Absent from a synced cache: missing, unless the engine has just seen it (the watch lags).
      if (o.state !== "verified") Object.assign(o, { state: "judged", problem: `${what(o)}: not found` });
      return;
    }
    if (stale(live)) return;
    const health = objectHealth(live, followed.exprs, { now: this.now() });
    o.state = "judged";
    o.problem = health.status === "Current" ? undefined : `${what(o)}: ${health.message}${health.status === "InProgress" ? "" : ` (${health.status})`}`;
  }
}

/** Why an object is judged: a watch event, its deletion, a cache (re)list, or a refused list/watch. */
type How = "event" | "deleted" | "cache" | "refused";

/** Unhealthy if any object is; no verdict while any is unknown; else healthy. */
function verdict(f: Followed): boolean | undefined {
  if (f.objects.some(o => o.problem !== undefined)) return false;
  return f.objects.some(o => o.state === "unknown") ? undefined : true;
}

/** The verdict and which objects are unhealthy: a change of either is reported (so that a status naming the broken object stays right). */
function signature(f: Followed): string {
  return `${verdict(f)}|${f.objects.filter(o => o.problem !== undefined).map(o => `${o.collection}|${o.key}`).join(",")}`;
}

const stageId = (namespace: string, stageset: string, stage: string) => `${namespace}/${stageset}/${stage}`;

/** `Kind/name in namespace ns`, as describe() in apply says it, from the followed key. */
function what(o: Pick<ObjectState, "kind" | "key">): string {
  const [namespace, name] = o.key.split("/") as [string, string];
  return describeObject({ kind: o.kind, metadata: { name, namespace: namespace || undefined } });
}

function numericVersion(rv: string | undefined): bigint | undefined {
  return rv !== undefined && /^[0-9]{1,30}$/.test(rv) ? BigInt(rv) : undefined;
}
