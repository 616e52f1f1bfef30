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
import { mapBounded } from "./ssa";

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
    const live = await liveOwners(client, path, group.objects, owner);
    if (live) claims.push(...foreignClaims(group.objects, live, owner, takeOwnership));
  }
  if (claims.length === 0) return;
  const list = claims.map(c => `${describe(c.object)} belongs to StageSet ${c.stageSet} (stage ${c.stage})`).join("; ");
  const hint = claims.some(c => c.stageSet.startsWith(`${owner.namespace}/`)) ? ". Set takeOwnership: true on this stage to take over those of StageSets in this namespace" : "";
  throw new StageSetError(Reason.OwnershipConflict, `stage ${owner.stage}: ${list}; nothing was applied${hint}`);
}

/** Objects per kind and namespace up to which each is read by name; beyond, other owners' are listed. */
const readOneByOne = 64;

/**
 * The owner labels of whichever of `objects` exist, by name; undefined when the kind is not
 * served yet (defined by an earlier wave of this stage). A few objects are read one by one; for
 * many, only objects of other StageSets are listed (two label selectors), so the cost follows
 * the stage's size or the other owners' objects, never every StageSet's objects of the namespace.
 */
async function liveOwners(client: KubeClient, path: string, objects: KubeObject[], owner: Owner): Promise<Map<string, KubeObject["metadata"]> | undefined> {
  const refused = (message: string | undefined) =>
    // Fail closed: without seeing who holds these objects, taking them could be a tug-of-war.
    new StageSetError(Reason.Forbidden, `stage ${owner.stage}: cannot read ${path} to check which StageSet holds its objects (${message ?? "forbidden"}); nothing was applied`);
  const live = new Map<string, KubeObject["metadata"]>();
  if (objects.length <= readOneByOne) {
    await mapBounded(objects, 16, async o => {
      // 404: the object does not exist yet (or its kind is defined by an earlier wave of this stage).
      const res = await client.get<{ metadata: KubeObject["metadata"]; message?: string }>(`${path}/${encodeURIComponent(o.metadata.name)}`, { accept: metadataOne, allow: [403, 404] });
      if (res.status === 403) throw refused(res.body.message);
      if (res.status === 200) live.set(res.body.metadata.name, res.body.metadata);
    });
    return live;
  }
  const selectors = [`${OwnerLabel.stageSet},${OwnerLabel.stageSet}!=${owner.stageSet}`, `${OwnerLabel.stageSet}=${owner.stageSet},${OwnerLabel.namespace}!=${owner.namespace}`];
  for (const labelSelector of selectors) {
    const res = await client.get<{ items?: { metadata: KubeObject["metadata"] }[]; message?: string }>(path, { accept: metadataOnly, query: { labelSelector }, allow: [403, 404] });
    if (res.status === 404) return undefined;
    if (res.status === 403) throw refused(res.body.message);
    for (const i of res.body.items ?? []) live.set(i.metadata.name, i.metadata);
  }
  return live;
}

/** One object's PartialObjectMetadata: labels without the body. */
const metadataOne = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";
