// Live health of the stages that were verified Ready: one shared watch per kind, selected by
// our ownership label (not a poll per object), and each followed stage re-judged only for the
// object an event touched. A stage that turns unhealthy (or healthy again) is reported at
// once, so the gate closes on the watch event itself and the engine records the change.
import { describe as describeObject, type KubeObject } from "../apply";
import { objectHealth, type CompiledExprs } from "../health";
import { Informer, objectKey, type KubeClient, type Meta } from "../kube";

export interface FollowedObject {
  /** The collection path of the object's resource, all namespaces (one watch per path). */
  collection: string;
  object: KubeObject;
}

interface Followed {
  verification: string;
  objects: { collection: string; key: string; what: string }[];
  exprs?: CompiledExprs;
  /** Objects not healthy now, with what is wrong. */
  unhealthy: Map<string, string>;
}

export type HealthChange = (namespace: string, stageset: string, stage: string) => void;

export class LiveHealth {
  private readonly informers = new Map<string, Informer<KubeObject & Meta>>();
  private readonly synced = new Set<string>();
  private readonly stages = new Map<string, Followed>();
  /** collection|namespace/name → the stages that hold that object. */
  private readonly holders = new Map<string, Set<string>>();

  constructor(
    private readonly client: KubeClient,
    /** Only objects carrying this selector are watched (our ownership label). */
    private readonly labelSelector: string,
    private readonly changed: HealthChange,
    private readonly now: () => number = Date.now,
  ) {}

  /** Follow a stage's objects as verified (replaces what was followed for that stage). */
  follow(namespace: string, stageset: string, stage: string, verification: string, objects: FollowedObject[], exprs: CompiledExprs | undefined): void {
    const id = stageId(namespace, stageset, stage);
    if (this.stages.get(id)?.verification === verification) return;
    this.unfollow(namespace, stageset, s => s === stage);
    const followed: Followed = {
      verification,
      objects: objects.map(o => ({ collection: o.collection, key: objectKey(o.object), what: describeObject(o.object) })),
      exprs,
      unhealthy: new Map(),
    };
    this.stages.set(id, followed);
    for (const o of followed.objects) {
      const slot = `${o.collection}|${o.key}`;
      let set = this.holders.get(slot);
      if (!set) this.holders.set(slot, (set = new Set()));
      set.add(id);
      this.informerFor(o.collection);
      this.judge(followed, o);
    }
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

  /** Healthy now; undefined when this stage is not followed at that verification. */
  healthy(namespace: string, stageset: string, stage: string, verification: string): boolean | undefined {
    const followed = this.stages.get(stageId(namespace, stageset, stage));
    return followed?.verification === verification ? followed.unhealthy.size === 0 : undefined;
  }

  /** The object as the watch last delivered it, if its kind is watched. */
  cached(collection: string, key: string): (KubeObject & Meta) | undefined {
    return this.informers.get(collection)?.get(key);
  }

  /** What is wrong with a followed stage's objects, one line each (empty when healthy). */
  problems(namespace: string, stageset: string, stage: string): string[] {
    return [...(this.stages.get(stageId(namespace, stageset, stage))?.unhealthy.values() ?? [])];
  }

  stop(): void {
    for (const informer of this.informers.values()) informer.stop();
  }

  private informerFor(collection: string): void {
    if (this.informers.has(collection)) return;
    const touched = (o: Meta) => this.touched(collection, objectKey(o));
    const informer = new Informer<KubeObject & Meta>(this.client, collection, {
      upsert: touched,
      remove: touched,
      synced: () => {
        this.synced.add(collection);
        for (const [slot, ids] of this.holders) if (slot.startsWith(`${collection}|`)) this.touched(collection, slot.slice(collection.length + 1), ids);
      },
    }, { labelSelector: this.labelSelector });
    this.informers.set(collection, informer);
    informer.start();
  }

  private touched(collection: string, key: string, ids = this.holders.get(`${collection}|${key}`)): void {
    for (const id of ids ?? []) {
      const followed = this.stages.get(id);
      const o = followed?.objects.find(x => x.collection === collection && x.key === key);
      if (!followed || !o) continue;
      const was = followed.unhealthy.size === 0;
      this.judge(followed, o);
      if (was !== (followed.unhealthy.size === 0)) {
        const [namespace, stageset, stage] = id.split("/") as [string, string, string];
        this.changed(namespace, stageset, stage);
      }
    }
  }

  /** Until its kind's watch has listed, an object keeps the health the engine just verified. */
  private judge(followed: Followed, o: Followed["objects"][number]): void {
    const slot = `${o.collection}|${o.key}`;
    if (!this.synced.has(o.collection)) return;
    const live = this.informers.get(o.collection)?.get(o.key);
    if (!live) return void followed.unhealthy.set(slot, `${o.what}: not found`);
    const health = objectHealth(live, followed.exprs, { now: this.now() });
    if (health.status === "Current") followed.unhealthy.delete(slot);
    else followed.unhealthy.set(slot, `${o.what}: ${health.message}${health.status === "InProgress" ? "" : ` (${health.status})`}`);
  }
}

const stageId = (namespace: string, stageset: string, stage: string) => `${namespace}/${stageset}/${stage}`;
