// The API server's authorizer, asked: may this identity do this? Two askers: the client's own
// identity (a SelfSubjectAccessReview, as the ServiceAccount the engine acts as) and a user
// named by an admission request (a SubjectAccessReview). Two functions, so that a missing
// user can never turn into a question about the client's own rights.
import type { KubeClient } from "./client";

export interface AccessAttributes {
  verb: string;
  group: string;
  resource: string;
  /** Cluster scope without one. */
  namespace?: string;
  name?: string;
}

/** The user of an admission request, as a SubjectAccessReview names it (from the API server's authentication, not the object). */
export interface ReviewedUser {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** Whether the client's own identity may do it. */
export function selfAccessAllowed(client: KubeClient, resourceAttributes: AccessAttributes): Promise<boolean> {
  return review(client, "SelfSubjectAccessReview", { resourceAttributes });
}

/** Whether the user may do it. */
export function userAccessAllowed(client: KubeClient, user: ReviewedUser, resourceAttributes: AccessAttributes): Promise<boolean> {
  return review(client, "SubjectAccessReview", { user: user.username, uid: user.uid, groups: user.groups, extra: user.extra, resourceAttributes });
}

async function review(client: KubeClient, kind: "SubjectAccessReview" | "SelfSubjectAccessReview", spec: object): Promise<boolean> {
  const res = await client.request<{ status?: { allowed?: boolean } }>("POST", `/apis/authorization.k8s.io/v1/${kind.toLowerCase()}s`, {
    body: { apiVersion: "authorization.k8s.io/v1", kind, spec },
  });
  return res.body.status?.allowed === true;
}
