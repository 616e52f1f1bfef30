// Where an object lives once applied: namespaced kinds default to the StageSet's namespace,
// cluster-scoped kinds have none. Identity (prune, duplicate claims) must use this form, or
// a cluster-scoped object such as a CRD looks "gone" and is pruned, taking its CRs with it.
import type { Discovery } from "../kube";
import type { KubeObject } from "./objects";
import { groupOf } from "./objects";

/** Scope of each object's kind: from discovery, else from a CRD among `objects` that defines it. */
export async function placeObjects<T extends KubeObject>(discovery: Discovery, objects: T[], defaultNamespace: string): Promise<T[]> {
  const definedScope = new Map<string, boolean>();
  for (const o of objects) {
    if (o.kind !== "CustomResourceDefinition") continue;
    const spec = (o as { spec?: { group?: string; scope?: string; names?: { kind?: string } } }).spec;
    if (spec?.group && spec.names?.kind) definedScope.set(`${spec.group}/${spec.names.kind}`, spec.scope !== "Cluster");
  }
  const placed: T[] = [];
  for (const o of objects) {
    const resource = await discovery.resolve(o.apiVersion, o.kind);
    const namespaced = resource?.namespaced ?? definedScope.get(`${groupOf(o.apiVersion)}/${o.kind}`) ?? o.metadata.namespace !== undefined;
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
