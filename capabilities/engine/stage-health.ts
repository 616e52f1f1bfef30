// Is a stage Ready? Reads every applied object (and each readyChecks.checks entry) live and
// judges it with kstatus rules, or with the stage's CEL expressions for the kinds they name.
import { Reason, StageSetError, type ObjectRef } from "../api";
import { describe, mapBounded, objectId, type KubeObject } from "../apply";
import { objectHealth, statusUnchangedSinceApply, type ApplySnapshot, type CompiledExprs, type Health } from "../health";
import { KubeApiError, resourcePath, type Discovery, type KubeClient } from "../kube";

export interface StageHealth {
  status: "Current" | "InProgress" | "Failed";
  total: number;
  ready: number;
  /** One line per object that is not Current, naming it and saying why. */
  notReady: string[];
  failed: string[];
  /** The resourceVersion each object was judged at (by object id): live health ignores older watch events. */
  versions: Map<string, string>;
}

export async function stageHealth(
  client: KubeClient,
  discovery: Discovery,
  applied: KubeObject[],
  checks: ObjectRef[],
  compiled: CompiledExprs | undefined,
  defaultNamespace: string,
  now: number,
  /** The applied objects as just returned by the API server, if this is the check right after the apply. */
  fresh?: KubeObject[],
  /** Objects whose status cannot say which generation it describes, as our apply left them. */
  snapshots?: Map<string, ApplySnapshot>,
): Promise<StageHealth> {
  const refs = [...applied.map(o => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace })), ...checks];
  const known = new Map((fresh ?? []).map(o => [objectId(o), o]));
  const versions = new Map<string, string>();
  const judge = (o: KubeObject): Health => {
    const id = objectId(o);
    if (o.metadata.resourceVersion) versions.set(id, o.metadata.resourceVersion);
    const stale = statusUnchangedSinceApply(o, snapshots?.get(id));
    if (stale) return stale;
    snapshots?.delete(id); // its controller has reacted since: the usual rules apply
    return objectHealth(o, compiled, { now });
  };
  const results = await mapBounded(refs, 32, ref => {
    const live = known.get(objectId({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } }));
    return live ? Promise.resolve({ what: describe(live), health: judge(live) }) : refHealth(client, discovery, ref, judge, defaultNamespace);
  });
  const notReady: string[] = [];
  const failed: string[] = [];
  results.forEach(({ what, health }) => {
    if (health.status === "Current") return;
    const line = `${what}: ${health.message}`;
    if (health.status === "Failed") failed.push(line);
    else notReady.push(`${line}${health.status === "InProgress" ? "" : ` (${health.status})`}`);
  });
  const status = failed.length > 0 ? "Failed" : notReady.length > 0 ? "InProgress" : "Current";
  return { status, total: results.length, ready: results.length - failed.length - notReady.length, notReady, failed, versions };
}

async function refHealth(client: KubeClient, discovery: Discovery, ref: ObjectRef, judge: (o: KubeObject) => Health, defaultNamespace: string): Promise<{ what: string; health: Health }> {
  const resource = await discovery.resolve(ref.apiVersion, ref.kind);
  const namespace = resource?.namespaced ? (ref.namespace ?? defaultNamespace) : undefined;
  const what = describe({ kind: ref.kind, metadata: { name: ref.name, namespace } });
  if (!resource) return { what, health: { status: "InProgress", reason: "NotFound", message: `${ref.apiVersion} ${ref.kind} is not served` } };
  const res = await client.get<KubeObject>(resourcePath(resource, namespace, ref.name), { allow: [404] }).catch((err: unknown) => {
    // The StageSet's ServiceAccount may not read it: a check is no way around RBAC.
    if (err instanceof KubeApiError && err.status === 403) throw new StageSetError(Reason.Forbidden, `${what}: ${err.message}`);
    throw err;
  });
  if (res.status === 404) return { what, health: { status: "InProgress", reason: "NotFound", message: "not found" } };
  return { what, health: judge(res.body) };
}

/** A short, bounded summary for status messages. */
export function summarize(lines: string[], max = 5): string {
  const shown = lines.slice(0, max).join("; ");
  return lines.length > max ? `${shown}; and ${lines.length - max} more` : shown;
}
