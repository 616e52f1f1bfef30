// Prune: delete the members of a stage's ApplySet that are no longer desired. Members are
// found by label in every kind and namespace the parent records; prunePlan decides which
// may go. Returns what it could not delete, so the parent keeps tracking them.
import { Reason, StageSetError } from "../api";
import { KubeApiError, metadataOnly, resourcePath, type Discovery, type KubeClient } from "../kube";
import { ApplySetLabel } from "./applyset";
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
  for (const o of plan.delete) {
    const resource = await discovery.resolve(o.apiVersion, o.kind);
    if (!resource) continue;
    try {
      await client.request("DELETE", resourcePath(resource, o.metadata.namespace, o.metadata.name), {
        body: { apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: "Background", preconditions: { uid: o.metadata.uid } },
        allow: [404, 409],
      });
    } catch (err) {
      failures.push(`${describe(o)}: ${err instanceof KubeApiError ? err.message : String(err)}`);
    }
  }
  if (failures.length > 0) throw new StageSetError(Reason.PruneFailed, `stage ${owner.stage}: could not delete ${failures.join("; ")}`);
  return { deleted: plan.delete, kept: plan.keep };
}

async function listMembers(client: KubeClient, discovery: Discovery, owner: Owner, parent: ParentState): Promise<KubeObject[]> {
  const selector = `${ApplySetLabel.partOf}=${parent.id}`;
  const namespaces = [owner.namespace, ...parent.namespaces];
  const found: KubeObject[] = [];
  for (const gk of parent.groupKinds) {
    const resource = await discovery.resolveGroupKind(gk);
    if (!resource) continue; // the kind is gone (its CRD was removed): nothing left to delete
    const scopes = resource.namespaced ? namespaces : [undefined];
    for (const ns of scopes) {
      // Prune needs identity, labels and annotations only: list metadata, not whole objects.
      const res = await client.get<{ items: KubeObject[] }>(resourcePath(resource, ns), { query: { labelSelector: selector }, accept: metadataOnly });
      const apiVersion = resource.group ? `${resource.group}/${resource.version}` : resource.version;
      found.push(...res.body.items.map(i => ({ ...i, apiVersion, kind: resource.kind })));
    }
  }
  return found;
}
