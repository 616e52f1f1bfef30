// Admission for promotion control, which needs the API server: whether the user may approve
// (a SubjectAccessReview for the request's user, as Kubernetes' CSR approval asks for its
// `approve` verb), and whether spec.dependsOn closes a cycle through the StageSets there are now.
import { StageSetGVK, type StageSet } from "../api";
import type { KubeClient } from "../kube";
import { approvalsAnnotation, approveAnnotation, approveRequestProblem, approveVerb, dependencyKeys, findCycle, parseApprovals, parseApproveRequest, withApproval } from "../promotion";

export interface UserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** Whether the user may `approve` this StageSet (RBAC: the verb on stagesets.stageset.dev). */
export async function mayApprove(client: KubeClient, user: UserInfo, namespace: string, name: string): Promise<boolean> {
  const res = await client.request<{ status?: { allowed?: boolean } }>("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
    body: {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec: { user: user.username, uid: user.uid, groups: user.groups, extra: user.extra, resourceAttributes: { group: StageSetGVK.group, resource: StageSetGVK.plural, verb: approveVerb, namespace, name } },
    },
  });
  return res.body.status?.allowed === true;
}

/**
 * The annotations after admission: the approval record as it was before this request (only
 * this webhook writes it), plus the approval asked for when the user may give it; the request
 * itself is then removed. A request that is not recorded stays, and validation refuses it.
 */
export async function admitApproval(ss: StageSet, old: StageSet | undefined, user: UserInfo, may: () => Promise<boolean>, now: Date): Promise<Record<string, string | undefined>> {
  const before = old?.metadata?.annotations?.[approvalsAnnotation];
  const changes: Record<string, string | undefined> = { [approvalsAnnotation]: before };
  const value = ss.metadata?.annotations?.[approveAnnotation];
  if (value === undefined || approveRequestProblem(ss.spec?.stages ?? [], value) || !(await may())) return changes;
  const request = parseApproveRequest(value) as { stage: string; revision: string };
  const approvedAt = now.toISOString().replace(/\.\d+Z$/, "Z");
  const record = withApproval(parseApprovals(before), { ...request, approvedBy: user.username ?? "(unknown user)", approvedAt });
  return { [approvalsAnnotation]: JSON.stringify(record), [approveAnnotation]: undefined };
}

/** Why the approval request left on the object is refused (validation runs after the mutation recorded any allowed one). */
export async function approvalRefusal(ss: StageSet, user: UserInfo, may: () => Promise<boolean>): Promise<string | undefined> {
  const value = ss.metadata?.annotations?.[approveAnnotation];
  if (value === undefined) return undefined;
  const problem = approveRequestProblem(ss.spec?.stages ?? [], value);
  if (problem) return `${approveAnnotation}: ${problem}`;
  if (!(await may())) return `${approveAnnotation}: user ${JSON.stringify(user.username ?? "")} may not approve StageSet ${ss.metadata?.namespace}/${ss.metadata?.name}: approving takes the "${approveVerb}" verb on stagesets.stageset.dev (grant it with RBAC)`;
  return `${approveAnnotation}: the approval was not recorded (the mutating webhook did not run); try again`;
}

/** A cycle spec.dependsOn would close, spelled out, or undefined. Reads every StageSet only when there are dependencies. */
export async function dependencyCycle(client: KubeClient, ss: StageSet): Promise<string | undefined> {
  const self = `${ss.metadata?.namespace}/${ss.metadata?.name}`;
  const edges = dependencyKeys(ss);
  if (edges.length === 0) return undefined;
  const { group, version, plural } = StageSetGVK;
  const all = (await client.get<{ items: StageSet[] }>(`/apis/${group}/${version}/${plural}`)).body.items;
  const graph = new Map(all.map(o => [`${o.metadata!.namespace}/${o.metadata!.name}`, dependencyKeys(o)]));
  const cycle = findCycle(self, edges, key => (key === self ? edges : (graph.get(key) ?? [])));
  return cycle ? `spec.dependsOn: a cycle: ${cycle.join(" → ")} (a StageSet cannot wait for itself)` : undefined;
}
