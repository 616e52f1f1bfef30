// Objects that report status.observedGeneration as something other than a number (older Argo
// Rollouts write a hash) cannot tell us whether their status describes the spec we just
// applied. So when our apply gives such an object a new generation, we keep its status as the
// apply returned it: until the status changes, the object has not observed our change.
import { objectId, type Applied, type KubeObject } from "../apply";
import { applySnapshot, hasExprFor, needsApplySnapshot, type ApplySnapshot, type CompiledExprs } from "../health";
import { objectKey, resourcePath, type Discovery, type KubeClient, type Meta } from "../kube";
import type { LiveHealth } from "./live-health";

export class ApplySnapshots {
  readonly byObject = new Map<string, ApplySnapshot>();
  /** The last generation seen of each such object, to tell whether an apply bumped it. */
  private readonly generations = new Map<string, number>();

  /**
   * Generations before an apply: what we saw last, else what the live-health watch holds, else
   * (just after a restart, before either knows) a read of the objects whose status may carry a
   * hash: Argo Rollouts and objects judged by CEL, the two judged by the tolerant rule.
   */
  async before(objects: KubeObject[], discovery: Discovery, live: LiveHealth | undefined, client: KubeClient, exprs: CompiledExprs | undefined): Promise<Map<string, number>> {
    const prior = new Map<string, number>();
    for (const o of objects) {
      const id = objectId(o);
      let generation = this.generations.get(id);
      const resource = generation === undefined ? await discovery.resolve(o.apiVersion, o.kind) : undefined;
      if (resource) generation = live?.cached(resourcePath(resource), objectKey(o))?.metadata?.generation;
      if (resource && generation === undefined && (isRollout(o) || hasExprFor(exprs, o))) {
        const res = await client.get<KubeObject & Meta>(resourcePath(resource, o.metadata.namespace, o.metadata.name), { allow: [404] });
        generation = res.status === 404 ? 0 : res.body.metadata?.generation;
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

const isRollout = (o: KubeObject) => o.kind === "Rollout" && o.apiVersion.startsWith("argoproj.io/");
