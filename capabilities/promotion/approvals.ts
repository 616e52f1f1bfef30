// Approvals bound to a revision. A user asks by annotating the StageSet
// `stageset.dev/approve: <stage>@<revision>`; the admission webhook checks that the user may
// `approve` stagesets (a SubjectAccessReview), removes the request and records the approval,
// with the user and the time, in `stageset.dev/approvals`, which only it writes: on every
// admitted write it puts back the record the object had before. The controller copies the
// record into status.approvals and lets a stage's promotion pass only for the exact pinned
// revision approved. Pure.
import type { ApprovalRecord } from "../api";

export const approveAnnotation = "stageset.dev/approve";
export const approvalsAnnotation = "stageset.dev/approvals";

/** The custom RBAC verb that approving takes, on stagesets.stageset.dev. */
export const approveVerb = "approve";

/** Bounds on what the record may hold: one entry per stage (64 at most), short fields. */
const maxRecords = 64;
const maxField = 1024;

export interface ApprovalRequest {
  stage: string;
  revision: string;
}

/**
 * `<stage>@<revision>`: split at the first `@` (a stage name is a DNS label; a revision may
 * hold `@`, as `v1.2.0@sha256:…` does). A message naming the problem when it does not parse.
 */
export function parseApproveRequest(value: string): ApprovalRequest | string {
  const at = value.indexOf("@");
  const stage = at < 0 ? "" : value.slice(0, at);
  const revision = at < 0 ? "" : value.slice(at + 1);
  if (!stage || !revision) return `${JSON.stringify(value)} is not <stage>@<revision> (for example app@v1.2.0@sha256:…, the revision as status.lastAttemptedRevisions shows it)`;
  if (revision.length > maxField) return `the revision is longer than ${maxField} characters`;
  return { stage, revision };
}

/** The records in the annotation; anything malformed (it was not written by the webhook) counts as none. */
export function parseApprovals(annotation: string | undefined): ApprovalRecord[] {
  if (!annotation || annotation.length > maxRecords * 4 * maxField) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(annotation);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const field = (v: unknown) => typeof v === "string" && v.length > 0 && v.length <= maxField;
  return parsed
    .filter((r): r is ApprovalRecord => typeof r === "object" && r !== null && ["stage", "revision", "approvedBy", "approvedAt"].every(k => field((r as Record<string, unknown>)[k])))
    .slice(0, maxRecords)
    .map(({ stage, revision, digest, approvedBy, approvedAt }) => ({ stage, revision, ...(typeof digest === "string" && field(digest) ? { digest } : {}), approvedBy, approvedAt }));
}

/** The record with this approval in it: the latest per stage replaces the one before. */
export function withApproval(records: ApprovalRecord[], approval: ApprovalRecord): ApprovalRecord[] {
  return [...records.filter(r => r.stage !== approval.stage), approval].slice(-maxRecords);
}

/**
 * The approval of this stage at this exact artifact (revision and digest), if any. An
 * approval records the digest the stage was trying when it was given; one given for a
 * revision the stage was not trying then has none, and approves nothing.
 */
export function approvalFor(records: ApprovalRecord[] | undefined, stage: string, revision: string | undefined, digest: string | undefined): ApprovalRecord | undefined {
  if (revision === undefined || digest === undefined) return undefined;
  return records?.find(r => r.stage === stage && r.revision === revision && r.digest === digest);
}

/** What is wrong with an approval request on this StageSet, or undefined when it names a stage that takes approvals. */
export function approveRequestProblem(stages: { name: string; promotion?: { approval?: string } }[], value: string): string | undefined {
  const request = parseApproveRequest(value);
  if (typeof request === "string") return request;
  const stage = stages.find(s => s.name === request.stage);
  if (!stage) return `there is no stage ${JSON.stringify(request.stage)} in spec.stages`;
  if (stage.promotion?.approval !== "Required") return `stage ${request.stage} does not take approvals (its promotion.approval is not Required)`;
  return undefined;
}

/**
 * Namespaces whose StageSets the admission webhook never sees (Pepr leaves these out of its
 * webhooks): there an approval record could be written by anyone who may edit the StageSet,
 * so the controller does not honour it.
 */
export const unadmittedNamespaces: readonly string[] = ["kube-system", "pepr-system"];
