// The prune plan: which previously applied objects left the stage and may be deleted.
import { OwnerLabel, PruneAnnotation } from "./applyset";
import type { KubeObject, ObjectId } from "./objects";
import { objectId } from "./objects";

export interface Owner {
  stageSet: string;
  namespace: string;
  stage: string;
}

export interface PrunePlan {
  delete: KubeObject[];
  /** Left the stage but kept: opted out, or owned by someone else now. */
  keep: { object: KubeObject; why: string }[];
}

/**
 * Members found by label that are no longer desired. An object is deleted only if it still
 * carries this StageSet's and this stage's ownership labels and is not opted out; an object
 * that moved to another stage carries that stage's label and is left alone.
 */
export function prunePlan(found: KubeObject[], desired: Set<ObjectId>, owner: Owner): PrunePlan {
  const plan: PrunePlan = { delete: [], keep: [] };
  for (const o of [...found].sort((a, b) => (objectId(a) < objectId(b) ? -1 : 1))) {
    if (desired.has(objectId(o)) || o.metadata.deletionTimestamp) continue;
    const labels = o.metadata.labels ?? {};
    if (labels[OwnerLabel.stageSet] !== owner.stageSet || labels[OwnerLabel.namespace] !== owner.namespace || labels[OwnerLabel.stage] !== owner.stage) {
      plan.keep.push({ object: o, why: "no longer labelled as this stage's" });
    } else if (o.metadata.annotations?.[PruneAnnotation] === "disabled") {
      plan.keep.push({ object: o, why: `annotated ${PruneAnnotation}: disabled` });
    } else {
      plan.delete.push(o);
    }
  }
  return plan;
}

/** Objects claimed by more than one stage: an invalid spec, caught before anything applies. */
export function duplicateClaims(stages: { stage: string; objects: KubeObject[] }[]): { id: ObjectId; stages: string[] }[] {
  const claims = new Map<ObjectId, string[]>();
  for (const { stage, objects } of stages) {
    for (const o of objects) claims.set(objectId(o), [...(claims.get(objectId(o)) ?? []), stage]);
  }
  return [...claims].filter(([, s]) => s.length > 1).map(([id, s]) => ({ id, stages: s }));
}
