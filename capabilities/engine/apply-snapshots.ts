// Objects that report status.observedGeneration as something other than a number (older Argo
// Rollouts write a hash) cannot tell us whether their status describes the spec we just
// applied. So when our apply gives such an object a new generation, we keep its status as the
// apply returned it: until the status changes, the object has not observed our change.
import { objectId, type Applied, type KubeObject } from "../apply";
import { applySnapshot, needsApplySnapshot, type ApplySnapshot } from "../health";
import { objectKey, resourcePath, type Discovery } from "../kube";
import type { LiveHealth } from "./live-health";

export class ApplySnapshots {
  readonly byObject = new Map<string, ApplySnapshot>();
  /** The last generation seen of each such object, to tell whether an apply bumped it. */
  private readonly generations = new Map<string, number>();

  /** Generations before an apply: what we saw last, else what the live-health watch holds. */
  async before(objects: KubeObject[], discovery: Discovery, live: LiveHealth | undefined): Promise<Map<string, number>> {
    const prior = new Map<string, number>();
    for (const o of objects) {
      const id = objectId(o);
      let generation = this.generations.get(id);
      if (generation === undefined && live) {
        const resource = await discovery.resolve(o.apiVersion, o.kind);
        generation = resource ? live.cached(resourcePath(resource), objectKey(o))?.metadata?.generation : undefined;
      }
      if (generation !== undefined) prior.set(id, generation);
    }
    return prior;
  }

  /** After the apply: keep a snapshot of every such object whose generation the apply moved. */
  after(applied: Applied[], prior: Map<string, number>): void {
    for (const { object } of applied) {
      if (!needsApplySnapshot(object)) continue;
      const id = objectId(object);
      const snapshot = applySnapshot(object);
      const was = prior.get(id);
      if (was !== undefined && snapshot.generation > was) this.byObject.set(id, snapshot);
      this.generations.set(id, snapshot.generation);
    }
  }
}
