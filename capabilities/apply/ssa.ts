// Server-side apply of one stage: waves in order, CRDs Established before the objects that
// need them, ownership and ApplySet labels on every object, bounded parallelism.
import { Reason, StageSetError } from "../api";
import { KubeApiError, fieldManager, resourcePath, type Discovery, type KubeClient, type ResourceInfo } from "../kube";
import { ApplySetLabel, OwnerLabel } from "./applyset";
import { applyWaves } from "./order";
import { placeIn } from "./scope";
import { describe, groupKind, type KubeObject } from "./objects";
import type { Owner } from "./inventory";

export interface ApplyContext {
  client: KubeClient;
  discovery: Discovery;
  owner: Owner;
  applySetId: string;
  /** Parallel requests per wave. */
  concurrency?: number;
  /** How long a CRD may take to become Established. */
  crdTimeoutMs?: number;
  /** Where each object came from, for error messages. */
  sourceOf?: (o: KubeObject) => string | undefined;
}

export interface Applied {
  object: KubeObject;
  resource: ResourceInfo;
  action: "created" | "configured";
  /** The apply changed the object in the cluster (created it, or set fields back). */
  changed: boolean;
}

/** Resolves every object's resource first, so an unknown kind applies nothing. */
export async function resolveResources(ctx: ApplyContext, objects: KubeObject[]): Promise<Map<KubeObject, ResourceInfo>> {
  const found = new Map<KubeObject, ResourceInfo>();
  for (const o of objects) {
    const r = await ctx.discovery.resolve(o.apiVersion, o.kind);
    if (r) found.set(o, r);
  }
  return found;
}

export async function applyStage(ctx: ApplyContext, objects: KubeObject[]): Promise<Applied[]> {
  const applied: Applied[] = [];
  for (const { wave, objects: batch } of applyWaves(objects)) {
    const results = await mapBounded(batch, ctx.concurrency ?? 16, o => applyOne(ctx, o));
    applied.push(...results);
    if (wave === "definitions") await waitForCRDs(ctx, results);
  }
  return applied;
}

async function applyOne(ctx: ApplyContext, o: KubeObject): Promise<Applied> {
  const resource = await ctx.discovery.resolve(o.apiVersion, o.kind);
  if (!resource) {
    throw new StageSetError(Reason.UnknownKind, `${where(ctx, o)}: the API server does not serve ${o.kind} in ${o.apiVersion}`);
  }
  const body = withOwnership(o, ctx, resource);
  const sentAt = Math.floor(Date.now() / 1000) * 1000; // managedFields times have second precision
  try {
    const res = await ctx.client.apply<KubeObject>(resourcePath(resource, body.metadata.namespace, body.metadata.name), body);
    const created = res.status === 201;
    return { object: res.body, resource, action: created ? "created" : "configured", changed: created || lastApplyTime(res.body) >= sentAt };
  } catch (err) {
    const detail = err instanceof KubeApiError ? `${err.status} ${err.reason}: ${err.message}` : String(err);
    const reason = err instanceof KubeApiError && err.status === 403 ? Reason.Forbidden : Reason.ApplyFailed;
    throw new StageSetError(reason, `${where(ctx, o)}: apply failed: ${detail}`, false, { cause: err });
  }
}

/**
 * When our apply last changed the object: the API server moves our managedFields entry's
 * time only when the apply changes a field, so a no-op apply leaves it in the past.
 */
export function lastApplyTime(o: KubeObject): number {
  const entry = o.metadata.managedFields?.find(f => f.manager === fieldManager && f.operation === "Apply");
  return entry?.time ? Date.parse(entry.time) : 0;
}

/** The manifest as we apply it: our labels added, the namespace defaulted for namespaced kinds. */
export function withOwnership(o: KubeObject, ctx: Pick<ApplyContext, "owner" | "applySetId">, resource: ResourceInfo): KubeObject {
  const metadata = { ...placeIn(o, resource.namespaced, ctx.owner.namespace).metadata };
  metadata.labels = {
    ...o.metadata.labels,
    [OwnerLabel.stageSet]: ctx.owner.stageSet,
    [OwnerLabel.namespace]: ctx.owner.namespace,
    [OwnerLabel.stage]: ctx.owner.stage,
    [ApplySetLabel.partOf]: ctx.applySetId,
  };
  return { ...o, metadata };
}

async function waitForCRDs(ctx: ApplyContext, applied: Applied[]): Promise<void> {
  const crds = applied.filter(a => groupKind(a.object) === "CustomResourceDefinition.apiextensions.k8s.io");
  const deadline = Date.now() + (ctx.crdTimeoutMs ?? 60_000);
  for (const { object, resource } of crds) {
    for (;;) {
      const res = await ctx.client.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(resourcePath(resource, undefined, object.metadata.name));
      if (res.body.status?.conditions?.some(c => c.type === "Established" && c.status === "True")) break;
      if (Date.now() > deadline) {
        throw new StageSetError(Reason.HealthCheckTimeout, `${describe(object)} was not Established within ${(ctx.crdTimeoutMs ?? 60_000) / 1000}s`);
      }
      await new Promise(ok => setTimeout(ok, 100));
    }
    const spec = (object as { spec?: { group?: string; versions?: { name: string }[] } }).spec;
    for (const v of spec?.versions ?? []) ctx.discovery.invalidate(`${spec?.group}/${v.name}`);
  }
}

function where(ctx: ApplyContext, o: KubeObject): string {
  const source = ctx.sourceOf?.(o);
  return source ? `${describe(o)} (from ${source})` : describe(o);
}

/** Runs fn over items with at most `limit` in flight; the first failure wins, after the rest settle. */
export async function mapBounded<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.err;
  return results;
}
