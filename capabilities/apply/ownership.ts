// Ownership between StageSets: an object that another StageSet already holds (by our owner
// labels) is not taken silently. Two StageSets applying one object under one field manager
// would flip it back and forth, and one's prune could delete what the other still wants. A
// stage takes such an object only when it says so (takeOwnership), and only from a StageSet of
// its own namespace; the other StageSet's prune then leaves it alone, since it no longer
// carries that StageSet's labels.
import { Reason, StageSetError } from "../api";
import { metadataOnly, resourcePath, type KubeClient, type ResourceInfo } from "../kube";
import { OwnerLabel } from "./applyset";
import type { Owner } from "./inventory";
import { describe, type KubeObject } from "./objects";

export interface ForeignClaim {
  object: KubeObject;
  /** namespace/name of the StageSet holding it, and its stage. */
  stageSet: string;
  stage: string;
}

/** Live objects (by name) carrying another StageSet's labels; moves between this StageSet's stages are not claims. */
export function foreignClaims(objects: KubeObject[], live: Map<string, KubeObject["metadata"]>, owner: Owner, takeOwnership = false): ForeignClaim[] {
  const claims: ForeignClaim[] = [];
  for (const o of objects) {
    const labels = live.get(o.metadata.name)?.labels ?? {};
    const name = labels[OwnerLabel.stageSet];
    const namespace = labels[OwnerLabel.namespace];
    if (!name || (name === owner.stageSet && namespace === owner.namespace)) continue;
    // takeOwnership reaches only StageSets of the same namespace: one tenant never takes another's.
    if (takeOwnership && namespace === owner.namespace) continue;
    claims.push({ object: o, stageSet: `${namespace ?? "?"}/${name}`, stage: labels[OwnerLabel.stage] ?? "?" });
  }
  return claims;
}

/** Refuses, before anything is applied, objects another StageSet holds (one list per kind and namespace). */
export async function refuseForeignClaims(client: KubeClient, owner: Owner, objects: Map<KubeObject, ResourceInfo>, takeOwnership = false): Promise<void> {
  const groups = new Map<string, { resource: ResourceInfo; namespace?: string; objects: KubeObject[] }>();
  for (const [o, resource] of objects) {
    // Placed as the apply will place it (a kind defined by an earlier stage was not placed at parse time).
    const namespace = resource.namespaced ? (o.metadata.namespace ?? owner.namespace) : undefined;
    const key = `${resourcePath(resource, namespace)}`;
    const group = groups.get(key) ?? { resource, namespace, objects: [] };
    group.objects.push(o);
    groups.set(key, group);
  }
  const claims: ForeignClaim[] = [];
  for (const [path, group] of groups) {
    const res = await client.get<{ items?: { metadata: KubeObject["metadata"] }[] }>(path, { accept: metadataOnly, query: { labelSelector: OwnerLabel.stageSet }, allow: [403, 404] });
    if (res.status === 404) continue; // a kind an earlier wave of this stage defines: nothing of it exists yet
    if (res.status === 403) {
      // Fail closed: without seeing who holds these objects, taking them could be a tug-of-war.
      throw new StageSetError(Reason.Forbidden, `stage ${owner.stage}: cannot list ${path} to check which StageSet holds its objects (${(res.body as { message?: string }).message ?? "forbidden"}); nothing was applied`);
    }
    const live = new Map((res.body.items ?? []).map(i => [i.metadata.name, i.metadata]));
    claims.push(...foreignClaims(group.objects, live, owner, takeOwnership));
  }
  if (claims.length === 0) return;
  const list = claims.map(c => `${describe(c.object)} belongs to StageSet ${c.stageSet} (stage ${c.stage})`).join("; ");
  const hint = claims.some(c => c.stageSet.startsWith(`${owner.namespace}/`)) ? ". Set takeOwnership: true on this stage to take over those of StageSets in this namespace" : "";
  throw new StageSetError(Reason.OwnershipConflict, `stage ${owner.stage}: ${list}; nothing was applied${hint}`);
}
