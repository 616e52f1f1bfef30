// Admission for promotion control, which needs the API server: whether the user may approve
// (a SubjectAccessReview for the request's user, as Kubernetes' CSR approval asks for its
// `approve` verb), and whether spec.dependsOn closes a cycle through the StageSets there are now.
import { StageSetGVK, stageSetsPath, type StageSet } from "../api";
import { userAccessAllowed, type KubeClient, type ReviewedUser } from "../kube";
import { approvalsAnnotation, approveAnnotation, approveRequestProblem, approveVerb, dependencyKeys, findCycle, formatInstant, parseApprovals, parseApproveRequest, withApproval } from "../promotion";

export type UserInfo = ReviewedUser;

/** Whether the user may `approve` this StageSet (RBAC: the verb on stagesets.stageset.dev). */
export function mayApprove(client: KubeClient, user: UserInfo, namespace: string, name: string): Promise<boolean> {
  return userAccessAllowed(client, user, { group: StageSetGVK.group, resource: StageSetGVK.plural, verb: approveVerb, namespace, name });
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
  const approvedAt = formatInstant(now.getTime());
  // Bound to the content the stage is trying now (the stored status): the same revision republished with other content is not approved.
  const trying = old?.status?.stages?.find(s => s.name === request.stage);
  const digest = trying?.attemptedRevision === request.revision ? trying.attemptedDigest : undefined;
  const record = withApproval(parseApprovals(before), { ...request, ...(digest ? { digest } : {}), approvedBy: user.username ?? "(unknown user)", approvedAt });
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

/**
 * An update that takes an approval gate away (a stage with promotion.approval: Required removed,
 * or its approval no longer Required) takes the approve verb too: otherwise whoever may edit
 * the spec could skip what only approvers may let through.
 */
export async function gateRemovalRefusal(ss: StageSet, old: StageSet | undefined, user: UserInfo, may: () => Promise<boolean>): Promise<string | undefined> {
  const gated = (o: StageSet | undefined) => new Set((o?.spec?.stages ?? []).filter(s => s.promotion?.approval === "Required").map(s => s.name));
  const now = gated(ss);
  const removed = [...gated(old)].filter(stage => !now.has(stage));
  if (removed.length === 0 || (await may())) return undefined;
  return `user ${JSON.stringify(user.username ?? "")} may not take away the approval gate of stage ${removed.join(", ")} (promotion.approval: Required): that takes the "${approveVerb}" verb on stagesets.stageset.dev, as approving does`;
}

/** How many StageSets admission reads, at most, to look for a cycle through a new dependsOn. */
export const maxDependencyWalk = 256;

/**
 * A cycle spec.dependsOn would close, spelled out, or undefined. Reads only the StageSets
 * reachable from the new edges, one GET each (never a list of every StageSet), and refuses a
 * graph too large to walk.
 */
export async function dependencyCycle(client: KubeClient, ss: StageSet): Promise<string | undefined> {
  const self = `${ss.metadata?.namespace}/${ss.metadata?.name}`;
  const edges = dependencyKeys(ss);
  if (edges.length === 0) return undefined;
  const graph = new Map<string, string[]>([[self, edges]]);
  const pending = [...edges];
  while (pending.length > 0) {
    const key = pending.pop()!;
    if (graph.has(key)) continue;
    if (graph.size >= maxDependencyWalk) return `spec.dependsOn: more than ${maxDependencyWalk} StageSets are reachable through it; a dependency graph this large cannot be checked for cycles`;
    const [namespace, name] = key.split("/");
    const res = await client.get<StageSet>(stageSetsPath(namespace, name), { allow: [404] });
    const next = res.status === 404 ? [] : dependencyKeys(res.body);
    graph.set(key, next);
    pending.push(...next);
  }
  const cycle = findCycle(self, edges, key => graph.get(key) ?? []);
  return cycle ? `spec.dependsOn: a cycle: ${cycle.join(" → ")} (a StageSet cannot wait for itself)` : undefined;
}
