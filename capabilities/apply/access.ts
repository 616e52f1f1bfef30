// Who may do what, asked before a stage applies anything: when a StageSet acts as a
// ServiceAccount, each kind and namespace of the stage is checked with a SelfSubjectAccessReview
// made as that ServiceAccount (the API server's own authorizer answers), so a refusal names
// who, what and where, and nothing of the stage is applied after the first one.
import { Reason, StageSetError } from "../api";
import { selfAccessAllowed, type KubeClient, type ResourceInfo } from "../kube";
import type { KubeObject } from "./objects";

/** `serviceaccount team-a/deployer cannot create deployments.apps in namespace kube-system`. */
export function forbiddenLine(actor: string, verb: string, resource: Pick<ResourceInfo, "plural" | "group">, namespace: string | undefined): string {
  const what = resource.group ? `${resource.plural}.${resource.group}` : resource.plural;
  return `serviceaccount ${actor} cannot ${verb} ${what} ${namespace ? `in namespace ${namespace}` : "at cluster scope"}`;
}

const configMaps: ResourceInfo = { group: "", version: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true };

/** Whether the client's identity may `verb` the resource in the namespace (cluster scope without one). */
export function mayDo(client: KubeClient, verb: string, resource: Pick<ResourceInfo, "plural" | "group">, namespace: string | undefined): Promise<boolean> {
  return selfAccessAllowed(client, { verb, group: resource.group, resource: resource.plural, namespace });
}

/** Refuses the stage, before anything is applied, if the ServiceAccount may not create and patch every kind where it goes. */
export async function refuseForbiddenApplies(client: KubeClient, actor: string, stage: string, objects: Map<KubeObject, ResourceInfo>, home: string): Promise<void> {
  // The stage's ApplySet parent, a ConfigMap in the StageSet's namespace, is written first.
  const places = new Map<string, { resource: ResourceInfo; namespace?: string }>([["/configmaps/" + home, { resource: configMaps, namespace: home }]]);
  for (const [o, resource] of objects) {
    // Placed as the apply will place it (a kind defined by an earlier stage was not placed at parse time).
    const namespace = resource.namespaced ? (o.metadata.namespace ?? home) : undefined;
    places.set(`${resource.group}/${resource.plural}/${namespace ?? ""}`, { resource, namespace });
  }
  const refused: string[] = [];
  for (const { resource, namespace } of places.values()) {
    for (const verb of ["create", "patch"]) {
      if (!(await mayDo(client, verb, resource, namespace))) refused.push(forbiddenLine(actor, verb, resource, namespace));
    }
  }
  if (refused.length > 0) throw new StageSetError(Reason.Forbidden, `stage ${stage}: ${refused.join("; ")}; nothing was applied`);
}
