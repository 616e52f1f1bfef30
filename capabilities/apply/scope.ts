// Where an object lives once applied: namespaced kinds default to the StageSet's namespace,
// cluster-scoped kinds have none. Identity (prune, duplicate claims) must use this form, or
// a cluster-scoped object such as a CRD looks "gone" and is pruned, taking its CRs with it.
import type { Discovery } from "../kube";
import type { KubeObject } from "./objects";
import { groupOf } from "./objects";

/** Kinds that CRDs among `objects` define, as `group/Kind`, each with whether it is namespaced. */
export function kindsDefinedBy(objects: KubeObject[]): Map<string, boolean> {
  const defined = new Map<string, boolean>();
  for (const o of objects) {
    if (o.kind !== "CustomResourceDefinition") continue;
    const spec = (o as { spec?: { group?: string; scope?: string; names?: { kind?: string } } }).spec;
    if (spec?.group && spec.names?.kind) defined.set(`${spec.group}/${spec.names.kind}`, spec.scope !== "Cluster");
  }
  return defined;
}

/** `group/Kind` of an object, the key of kindsDefinedBy. */
export const kindKey = (o: Pick<KubeObject, "apiVersion" | "kind">) => `${groupOf(o.apiVersion)}/${o.kind}`;

/** Scope of each object's kind: from discovery, else from a CRD among `objects` that defines it. */
export async function placeObjects<T extends KubeObject>(discovery: Discovery, objects: T[], defaultNamespace: string): Promise<T[]> {
  const definedScope = kindsDefinedBy(objects);
  const placed: T[] = [];
  for (const o of objects) {
    const resource = await discovery.resolve(o.apiVersion, o.kind);
    const namespaced = resource?.namespaced ?? definedScope.get(kindKey(o)) ?? o.metadata.namespace !== undefined;
    placed.push(placeIn(o, namespaced, defaultNamespace));
  }
  return placed;
}

export function placeIn<T extends KubeObject>(o: T, namespaced: boolean, defaultNamespace: string): T {
  const metadata = { ...o.metadata };
  if (namespaced) metadata.namespace ??= defaultNamespace;
  else delete metadata.namespace;
  return { ...o, metadata };
}
