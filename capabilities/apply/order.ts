// Apply order inside a stage. Definitions other objects depend on go first, in waves:
// CRDs, Namespaces and cluster RBAC, then *Class kinds, then everything else; webhooks
// last so they cannot block the objects of their own stage. Mirrors Flux's staged apply.
import type { KubeObject } from "./objects";
import { groupOf } from "./objects";

export type Wave = "definitions" | "classes" | "objects" | "webhooks";
export const waves: Wave[] = ["definitions", "classes", "objects", "webhooks"];

const definitionKinds = new Set([
  "apiextensions.k8s.io/CustomResourceDefinition",
  "/Namespace",
  "rbac.authorization.k8s.io/ClusterRole",
  "rbac.authorization.k8s.io/ClusterRoleBinding",
]);
const webhookKinds = new Set([
  "admissionregistration.k8s.io/MutatingWebhookConfiguration",
  "admissionregistration.k8s.io/ValidatingWebhookConfiguration",
]);

export function waveOf(o: Pick<KubeObject, "apiVersion" | "kind">): Wave {
  const key = `${groupOf(o.apiVersion)}/${o.kind}`;
  if (definitionKinds.has(key)) return "definitions";
  if (webhookKinds.has(key)) return "webhooks";
  if (o.kind.endsWith("Class")) return "classes";
  return "objects";
}

/** Objects grouped by wave, in apply order; within a wave sorted for a deterministic plan. */
export function applyWaves<T extends KubeObject>(objects: T[]): { wave: Wave; objects: T[] }[] {
  return waves
    .map(wave => ({ wave, objects: objects.filter(o => waveOf(o) === wave).sort(byIdentity) }))
    .filter(w => w.objects.length > 0);
}

function byIdentity(a: KubeObject, b: KubeObject): number {
  const ka = `${a.kind}/${a.metadata.namespace ?? ""}/${a.metadata.name}`;
  const kb = `${b.kind}/${b.metadata.namespace ?? ""}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
