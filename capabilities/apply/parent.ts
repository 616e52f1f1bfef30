// The ApplySet parent of one stage: a ConfigMap beside the StageSet whose annotations say
// which kinds and namespaces the stage's members live in, so prune knows where to look.
// Before an apply it is widened (union), after a prune narrowed, so an interrupted run leaks
// nothing (kubectl's order, KEP-3659).
import { Reason, StageSetError } from "../api";
import type { KubeClient } from "../kube";
import { ApplySetAnnotation, ApplySetLabel, applySetId, joinSet, OwnerLabel, PruneAnnotation, splitSet, stageParent, tooling } from "./applyset";
import type { Owner } from "./inventory";

export interface ParentState {
  id: string;
  name: string;
  groupKinds: string[];
  namespaces: string[];
  /** The stage had `prune: false` when last applied: teardown leaves its objects in place. */
  pruneDisabled: boolean;
  /**
   * A ConfigMap of the parent's name that is not this stage's parent: another StageSet's
   * whose name and stage join to the same string (`a` + `b-c`, `a-b` + `c`), or anyone else's.
   * Then this stage has no parent of its own, and must neither write nor delete that one.
   */
  foreign?: string;
}

export const ParentLabel = "stageset.dev/applyset-parent";
/** The stage's position in the spec when it was last applied: teardown goes last first, even for stages already gone from the spec. */
export const StageOrderAnnotation = "stageset.dev/stage-order";

const parentPath = (namespace: string, name?: string) => `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps${name ? `/${encodeURIComponent(name)}` : ""}`;

export async function readParent(client: KubeClient, owner: Owner): Promise<ParentState> {
  const ref = stageParent({ name: owner.stageSet, namespace: owner.namespace }, owner.stage);
  const res = await client.get<{ metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } }>(parentPath(ref.namespace, ref.name), { allow: [404] });
  const state: ParentState = { id: applySetId(ref), name: ref.name, groupKinds: [], namespaces: [], pruneDisabled: false };
  if (res.status !== 200) return state;
  const labels = res.body.metadata?.labels ?? {};
  if (labels[ParentLabel] !== "true" || labels[OwnerLabel.stageSet] !== owner.stageSet || labels[OwnerLabel.namespace] !== owner.namespace || labels[OwnerLabel.stage] !== owner.stage) {
    const theirs = labels[ParentLabel] === "true" ? `the ApplySet parent of StageSet ${labels[OwnerLabel.stageSet]} stage ${labels[OwnerLabel.stage]}` : "not a StageSet's ApplySet parent";
    return { ...state, foreign: `ConfigMap ${ref.namespace}/${ref.name}, which would be this stage's ApplySet parent, is ${theirs}` };
  }
  const ann = res.body.metadata?.annotations ?? {};
  return { ...state, groupKinds: splitSet(ann[ApplySetAnnotation.groupKinds]), namespaces: splitSet(ann[ApplySetAnnotation.namespaces]), pruneDisabled: ann[PruneAnnotation] === "disabled" };
}

/** The parent, unless its name is taken by another: then the stage cannot be applied (OwnershipConflict). */
export async function claimParent(client: KubeClient, owner: Owner): Promise<ParentState> {
  const parent = await readParent(client, owner);
  if (parent.foreign) throw new StageSetError(Reason.OwnershipConflict, `stage ${owner.stage}: ${parent.foreign}; rename the stage or the StageSet; nothing was applied`);
  return parent;
}

/**
 * Server-side applies the parent with exactly these kinds and namespaces. `prune: false` is
 * recorded on it, so a teardown after the stage left the spec still honours it.
 */
export async function writeParent(client: KubeClient, owner: Owner, order: number, groupKinds: Iterable<string>, namespaces: Iterable<string>, prune = true): Promise<ParentState> {
  const ref = stageParent({ name: owner.stageSet, namespace: owner.namespace }, owner.stage);
  const id = applySetId(ref);
  const gks = joinSet(groupKinds);
  const nss = joinSet([...namespaces].filter(n => n && n !== owner.namespace));
  await client.apply(parentPath(ref.namespace, ref.name), {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: ref.name,
      namespace: ref.namespace,
      labels: { [ApplySetLabel.id]: id, [ParentLabel]: "true", [OwnerLabel.stageSet]: owner.stageSet, [OwnerLabel.namespace]: owner.namespace, [OwnerLabel.stage]: owner.stage },
      annotations: { [ApplySetAnnotation.tooling]: tooling, [ApplySetAnnotation.groupKinds]: gks, [ApplySetAnnotation.namespaces]: nss, [StageOrderAnnotation]: String(order), ...(prune ? {} : { [PruneAnnotation]: "disabled" }) },
    },
  });
  return { id, name: ref.name, groupKinds: splitSet(gks), namespaces: splitSet(nss), pruneDisabled: !prune };
}

/** Stages that have a parent for this StageSet (stages that may still own objects), last first. */
export async function listParentStages(client: KubeClient, stageSet: { name: string; namespace: string }): Promise<string[]> {
  const selector = `${ParentLabel}=true,${OwnerLabel.stageSet}=${stageSet.name},${OwnerLabel.namespace}=${stageSet.namespace}`;
  type Meta = { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } };
  const res = await client.get<{ items: Meta[] }>(parentPath(stageSet.namespace), { query: { labelSelector: selector } });
  return res.body.items
    .map(i => ({ stage: i.metadata.labels?.[OwnerLabel.stage], order: Number(i.metadata.annotations?.[StageOrderAnnotation] ?? 0) }))
    .filter((p): p is { stage: string; order: number } => !!p.stage)
    .sort((a, b) => b.order - a.order || (a.stage < b.stage ? 1 : -1))
    .map(p => p.stage);
}

export async function deleteParent(client: KubeClient, owner: Owner): Promise<void> {
  const ref = stageParent({ name: owner.stageSet, namespace: owner.namespace }, owner.stage);
  await client.request("DELETE", parentPath(ref.namespace, ref.name), { allow: [404] });
}
