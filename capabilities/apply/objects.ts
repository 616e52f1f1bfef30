// Object identity: what makes two manifests "the same object" across stages and runs.

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    deletionTimestamp?: string;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string }[];
    managedFields?: { manager?: string; operation?: string; time?: string }[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** group/Kind/namespace/name, with the core group empty: stable across API versions. */
export type ObjectId = string;

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

export function objectId(o: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): ObjectId {
  return `${groupOf(o.apiVersion)}/${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
}

/** `Kind.group`, or `Kind` for the core group: the ApplySet group-kind spelling. */
export function groupKind(o: Pick<KubeObject, "apiVersion" | "kind">): string {
  const group = groupOf(o.apiVersion);
  return group ? `${o.kind}.${group}` : o.kind;
}

/** Human form for messages: `Deployment/web in namespace shop`. */
export function describe(o: Pick<KubeObject, "kind" | "metadata">): string {
  return `${o.kind}/${o.metadata.name}${o.metadata.namespace ? ` in namespace ${o.metadata.namespace}` : ""}`;
}
