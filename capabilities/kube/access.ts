// The API server's authorizer, asked: may this identity do this? One question, two askers:
// the client's own identity (a SelfSubjectAccessReview, as a ServiceAccount the engine acts as)
// or a user named by an admission request (a SubjectAccessReview).
import type { KubeClient } from "./client";

export interface AccessAttributes {
  verb: string;
  group: string;
  resource: string;
  /** Cluster scope without one. */
  namespace?: string;
  name?: string;
}

/** The user of an admission request, as a SubjectAccessReview names it. */
export interface ReviewedUser {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** Whether the user (the client's own identity when none is given) may do it. */
export async function accessAllowed(client: KubeClient, resourceAttributes: AccessAttributes, user?: ReviewedUser): Promise<boolean> {
  const kind = user ? "SubjectAccessReview" : "SelfSubjectAccessReview";
  const who = user ? { user: user.username, uid: user.uid, groups: user.groups, extra: user.extra } : {};
  const res = await client.request<{ status?: { allowed?: boolean } }>("POST", `/apis/authorization.k8s.io/v1/${kind.toLowerCase()}s`, {
    body: { apiVersion: "authorization.k8s.io/v1", kind, spec: { ...who, resourceAttributes } },
  });
  return res.body.status?.allowed === true;
}
