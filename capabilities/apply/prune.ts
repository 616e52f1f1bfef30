// Prune: delete the members of a stage's ApplySet that are no longer desired. Members are
// found by label in every kind and namespace the parent records; prunePlan decides which
// may go. Returns what it could not delete, so the parent keeps tracking them.
import { Reason, StageSetError } from "../api";
import { KubeApiError, metadataOnly, resourcePath, type Discovery, type KubeClient } from "../kube";
import { ApplySetLabel, OwnerLabel } from "./applyset";
import { prunePlan, type Owner, type PrunePlan } from "./inventory";
import { describe, type KubeObject, type ObjectId } from "./objects";
import type { ParentState } from "./parent";

export interface PruneResult {
  deleted: KubeObject[];
  kept: PrunePlan["keep"];
}

export async function pruneStage(client: KubeClient, discovery: Discovery, owner: Owner, parent: ParentState, desired: Set<ObjectId>): Promise<PruneResult> {
  const found = await listMembers(client, discovery, owner, parent);
  const plan = prunePlan(found, desired, owner);
  const failures: string[] = [];
  const deleted: KubeObject[] = [];
  const kept = [...plan.keep];
  for (const o of plan.delete) {
    const resource = await discovery.resolve(o.apiVersion, o.kind);
    if (!resource) continue;
    try {
      if (await deleteIfStillOurs(client, resourcePath(resource, o.metadata.namespace, o.metadata.name), o, owner)) deleted.push(o);
      else kept.push({ object: o, why: "relabelled since it was listed (taken over)" });
    } catch (err) {
      failures.push(`${describe(o)}: ${err instanceof KubeApiError ? err.message : String(err)}`);
    }
  }
  if (failures.length > 0) throw new StageSetError(Reason.PruneFailed, `stage ${owner.stage}: could not delete ${failures.join("; ")}`);
  return { deleted, kept };
}

/**
 * Deletes with uid and resourceVersion preconditions, so an object relabelled since it was
 * listed (taken over by another StageSet) is never deleted by us; an object that merely
 * changed (a status update) is read again and deleted if it is still this stage's.
 */
async function deleteIfStillOurs(client: KubeClient, path: string, listed: KubeObject, owner: Owner): Promise<boolean> {
  let current: KubeObject | undefined = listed;
  for (let attempt = 0; attempt < 5 && current; attempt++) {
    if (prunePlan([current], new Set(), owner).delete.length === 0) return false;
    const res = await client.request("DELETE", path, {
      body: { apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: "Background", preconditions: { uid: current.metadata.uid, resourceVersion: current.metadata.resourceVersion } },
      allow: [404, 409],
    });
    if (res.status !== 409) return true;
    const fresh = await client.get<KubeObject>(path, { allow: [404] });
    current = fresh.status === 404 || fresh.body.metadata.uid !== listed.metadata.uid ? undefined : { ...fresh.body, apiVersion: listed.apiVersion, kind: listed.kind };
  }
  return current === undefined;
}

/** The stage's members: every object labelled part of its ApplySet, in the kinds and namespaces its parent names. Metadata only unless `whole`. */
export async function listMembers(client: KubeClient, discovery: Discovery, owner: Owner, parent: ParentState, whole = false): Promise<KubeObject[]> {
  const selector = `${ApplySetLabel.partOf}=${parent.id}`;
  const namespaces = [owner.namespace, ...parent.namespaces];
  const found: KubeObject[] = [];
  for (const gk of parent.groupKinds) {
    const resource = await discovery.resolveGroupKind(gk);
    if (!resource) continue; // the kind is gone (its CRD was removed): nothing left to delete
    const scopes = resource.namespaced ? namespaces : [undefined];
    for (const ns of scopes) {
      // Prune needs identity, labels and annotations only: list metadata, not whole objects (health needs them whole).
      const res = await client.get<{ items: KubeObject[] }>(resourcePath(resource, ns), { query: { labelSelector: selector }, ...(whole ? {} : { accept: metadataOnly }) });
      const apiVersion = resource.group ? `${resource.group}/${resource.version}` : resource.version;
      found.push(...res.body.items.map(i => ({ ...i, apiVersion, kind: resource.kind })));
    }
  }
  return found;
}

/**
 * prune: false at teardown: the members stay, but stop being ours. Our owner labels and the
 * ApplySet label come off, so no other StageSet is refused them later, and a StageSet created
 * again under the same name does not take them for its own and prune them.
 */
export async function releaseMembers(client: KubeClient, discovery: Discovery, owner: Owner, parent: ParentState): Promise<number> {
  const members = (await listMembers(client, discovery, owner, parent)).filter(o => o.metadata.labels?.[OwnerLabel.stage] === owner.stage && o.metadata.labels?.[OwnerLabel.stageSet] === owner.stageSet);
  const unlabel = { metadata: { labels: { [ApplySetLabel.partOf]: null, [OwnerLabel.stageSet]: null, [OwnerLabel.namespace]: null, [OwnerLabel.stage]: null } } };
  for (const o of members) {
    const resource = await discovery.resolve(o.apiVersion, o.kind);
    if (resource) await client.request("PATCH", resourcePath(resource, o.metadata.namespace, o.metadata.name), { body: unlabel, contentType: "application/merge-patch+json", allow: [404] });
  }
  return members.length;
}
