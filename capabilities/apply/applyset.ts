// ApplySet (KEP-3659) identity and labels, spelled as kubectl does so that
// `kubectl get -l applyset.kubernetes.io/part-of=<id>` lists a stage's members.
import { createHash } from "node:crypto";

export const ApplySetLabel = {
  id: "applyset.kubernetes.io/id",
  partOf: "applyset.kubernetes.io/part-of",
} as const;

export const ApplySetAnnotation = {
  tooling: "applyset.kubernetes.io/tooling",
  groupKinds: "applyset.kubernetes.io/contains-group-kinds",
  namespaces: "applyset.kubernetes.io/additional-namespaces",
} as const;

/** Our own labels: which StageSet and stage own an object. Prune requires them. */
export const OwnerLabel = {
  stageSet: "stageset.dev/name",
  namespace: "stageset.dev/namespace",
  stage: "stageset.dev/stage",
} as const;

/** Per-object opt-out: `stageset.dev/prune: disabled` is never deleted by prune. */
export const PruneAnnotation = "stageset.dev/prune";

export const tooling = "stageset-controller/v1alpha1";

export interface ParentRef {
  name: string;
  namespace: string;
  kind: string;
  group: string;
}

/** kubectl's V1 ApplySet id: applyset-<base64url(sha256(name.namespace.Kind.group))>-v1. */
export function applySetId(parent: ParentRef): string {
  const hash = createHash("sha256").update([parent.name, parent.namespace, parent.kind, parent.group].join(".")).digest("base64url");
  return `applyset-${hash}-v1`;
}

/** The parent of one stage's ApplySet: a ConfigMap beside the StageSet. */
export function stageParent(stageSet: { name: string; namespace: string }, stage: string): ParentRef {
  return { name: `stageset-${stageSet.name}-${stage}`.slice(0, 253), namespace: stageSet.namespace, kind: "ConfigMap", group: "" };
}

/** Sorted, comma-separated: the annotation form kubectl reads and writes. */
export function joinSet(values: Iterable<string>): string {
  return [...new Set(values)].sort().join(",");
}

export function splitSet(value: string | undefined): string[] {
  return value ? value.split(",").filter(Boolean) : [];
}
