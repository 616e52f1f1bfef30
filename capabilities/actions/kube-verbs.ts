// The Kubernetes verbs of an action (job, wait, patch, delete, apply) and the dispatch of
// every verb. One call makes progress: a verb that must wait (a Job, a wait) reports that it
// is still running and when to look again, so the engine requeues instead of sleeping.
import { createHash } from "node:crypto";
import type { KubeObject } from "../apply";
import { compileExprs, evaluate } from "../health";
import { KubeApiError, resourcePath, secretValue, type Discovery, type KubeClient, type ResourceInfo } from "../kube";
import { ActionError, ActionReason, ActionTimeoutError } from "./errors";
import { runHttpAction } from "./http";
import type { Action, PatchTarget, SecretKeyRef } from "./spec";
import type { Lookup } from "./ssrf";
import { parseDuration } from "../api";

export interface VerbContext {
  client: KubeClient;
  discovery: Discovery;
  /** The StageSet's namespace: the default for every target, the home of Jobs and Secrets. */
  namespace: string;
  /** Identifies the action for this revision and attempt: its Job's name derives from it. */
  key: string;
  attempt: number;
  startedAt: number;
  now: number;
  timeoutMs: number;
  /** Labels on what an action creates. */
  labels: Record<string, string>;
  /** The objects of a file or directory in the stage's pinned artifact. */
  artifactObjects(path: string): Promise<KubeObject[]>;
  allowlist: readonly string[];
  lookup?: Lookup;
}

export type Progress = { done: true; message: string } | { done: false; message: string; checkInMs: number };

export async function runVerb(action: Action, ctx: VerbContext): Promise<Progress> {
  if (ctx.now - ctx.startedAt > ctx.timeoutMs && !action.http) {
    if (action.job) await deleteJob(ctx, jobName(ctx)).catch(() => undefined);
    throw new ActionTimeoutError(`${action.name}: not done within ${action.timeout ?? "its timeout"}`);
  }
  if (action.http) {
    const secrets = (ref: SecretKeyRef) => readSecret(ctx, ref);
    // One key per attempt: a request cut off by a controller crash is sent again with the
    // same key (a receiver can drop the repeat); a retry after a recorded failure gets a new one.
    const headers = [...(action.http.headers ?? []), { name: "Idempotency-Key", value: `${ctx.key}#${ctx.attempt}` }];
    const r = await runHttpAction({ ...action.http, headers }, { name: action.name, allowlist: ctx.allowlist, secrets, timeoutMs: ctx.timeoutMs, lookup: ctx.lookup });
    return { done: true, message: `HTTP ${r.status} in ${r.durationMs} ms` };
  }
  if (action.job) return job(action, ctx);
  if (action.wait?.duration !== undefined) {
    const left = ctx.startedAt + (parseDuration(action.wait.duration) ?? 0) - ctx.now;
    return left <= 0 ? { done: true, message: `waited ${action.wait.duration}` } : { done: false, message: `waiting ${action.wait.duration}`, checkInMs: Math.min(left, 5_000) };
  }
  if (action.wait?.until) return waitUntil(action.wait.until, ctx);
  if (action.patch) return patch(action.patch, ctx);
  if (action.delete) return del(action.delete, ctx);
  if (action.apply) return apply((action.apply.manifests as KubeObject[] | undefined) ?? (await ctx.artifactObjects(action.apply.path!)), ctx);
  throw new ActionError(ActionReason.ActionFailed, `${action.name}: no verb`, true);
}

async function resolve(ctx: VerbContext, t: { apiVersion: string; kind: string }): Promise<ResourceInfo> {
  const r = await ctx.discovery.resolve(t.apiVersion, t.kind);
  if (!r) throw new ActionError(ActionReason.ActionFailed, `the API server does not serve ${t.kind} in ${t.apiVersion}`);
  return r;
}

async function readSecret(ctx: VerbContext, ref: SecretKeyRef): Promise<string> {
  try {
    return await secretValue(ctx.client, ctx.namespace, ref.name, ref.key);
  } catch (err) {
    if (err instanceof KubeApiError) throw err;
    throw new ActionError(ActionReason.ActionFailed, (err as Error).message);
  }
}

async function waitUntil(until: NonNullable<NonNullable<Action["wait"]>["until"]>, ctx: VerbContext): Promise<Progress> {
  const r = await resolve(ctx, until);
  const what = `${until.kind}/${until.name}`;
  let obj: object;
  try {
    obj = (await ctx.client.get<object>(resourcePath(r, until.namespace ?? ctx.namespace, until.name))).body;
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return { done: false, message: `waiting for ${what} to exist`, checkInMs: 1_000 };
    throw err;
  }
  const health = evaluate(compileExprs([{ apiVersion: until.apiVersion, kind: until.kind, current: until.expr }]), obj);
  if (health?.status === "Current") return { done: true, message: `${what}: ${until.expr}` };
  return { done: false, message: `waiting until ${what}: ${until.expr}`, checkInMs: 1_000 };
}

async function targets(ctx: VerbContext, t: PatchTarget, r: ResourceInfo): Promise<string[]> {
  if (t.name) return [t.name];
  const sel = Object.entries(t.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of t.selector?.matchExpressions ?? []) sel.push(e.operator === "Exists" ? e.key : e.operator === "DoesNotExist" ? `!${e.key}` : `${e.key} ${e.operator.toLowerCase()} (${(e.values ?? []).join(",")})`);
  const list = await ctx.client.get<{ items: KubeObject[] }>(`${resourcePath(r, t.namespace ?? ctx.namespace)}?labelSelector=${encodeURIComponent(sel.join(","))}`);
  return list.body.items.map(o => o.metadata.name);
}

async function patch(p: NonNullable<Action["patch"]>, ctx: VerbContext): Promise<Progress> {
  const r = await resolve(ctx, p.target);
  const names = await targets(ctx, p.target, r);
  for (const name of names) {
    const path = resourcePath(r, p.target.namespace ?? ctx.namespace, name);
    try {
      await (p.type === "json" ? ctx.client.jsonPatch(path, p.patch as unknown[]) : ctx.client.mergePatch(path, p.patch));
    } catch (err) {
      if (err instanceof KubeApiError) throw new ActionError(ActionReason.ActionFailed, `patch ${p.target.kind}/${name}: ${err.status} ${err.message}`, err.status === 404 || err.status === 422);
      throw err;
    }
  }
  return { done: true, message: `patched ${names.length} ${p.target.kind}` };
}

async function del(d: NonNullable<Action["delete"]>, ctx: VerbContext): Promise<Progress> {
  const r = await resolve(ctx, d.target);
  const what = `${d.target.kind}/${d.target.name}`;
  try {
    await ctx.client.request("DELETE", resourcePath(r, d.target.namespace ?? ctx.namespace, d.target.name), { body: { propagationPolicy: d.propagationPolicy ?? "Background" } });
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return { done: true, message: `${what} was already gone` };
    throw err;
  }
  return { done: true, message: `deleted ${what}` };
}

async function apply(objects: KubeObject[], ctx: VerbContext): Promise<Progress> {
  for (const o of objects) {
    const r = await resolve(ctx, o);
    const namespace = r.namespaced ? (o.metadata.namespace ?? ctx.namespace) : undefined;
    await ctx.client.apply(resourcePath(r, namespace, o.metadata.name), { ...o, metadata: { ...o.metadata, ...(namespace ? { namespace } : {}) } });
  }
  return { done: true, message: `applied ${objects.length} objects (not in the stage's inventory)` };
}

/** At most 63 characters (the job-name label), the same for every call of one attempt. */
export function jobName(ctx: Pick<VerbContext, "key" | "attempt">): string {
  const hash = createHash("sha256").update(ctx.key).digest("hex").slice(0, 8);
  const slug = ctx.key.split("@")[0]!.toLowerCase().replace(/[^a-z0-9-]+/g, "-").slice(0, 44).replace(/-+$/, "");
  return `${slug}-${hash}-${ctx.attempt}`;
}

const jobsPath = (ctx: VerbContext, name?: string) => `/apis/batch/v1/namespaces/${ctx.namespace}/jobs${name ? `/${name}` : ""}`;
const deleteJob = (ctx: VerbContext, name: string) => ctx.client.request("DELETE", jobsPath(ctx, name), { body: { propagationPolicy: "Background" } });

interface JobObject extends KubeObject {
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

async function job(action: Action, ctx: VerbContext): Promise<Progress> {
  const name = jobName(ctx);
  const found = await ctx.client.get<JobObject>(jobsPath(ctx, name)).then(
    r => r.body,
    (err: unknown) => (err instanceof KubeApiError && err.status === 404 ? undefined : Promise.reject(err)),
  );
  if (!found) {
    const manifest = action.job!.template ?? (await ctx.artifactObjects(action.job!.path!))[0];
    if (!manifest || (manifest.kind !== undefined && manifest.kind !== "Job")) throw new ActionError(ActionReason.ActionFailed, `${action.name}: job.path must hold one Job`, true);
    const m = manifest as KubeObject;
    const body = { apiVersion: "batch/v1", kind: "Job", metadata: { name, namespace: ctx.namespace, labels: { ...(m.metadata?.labels ?? {}), ...ctx.labels } }, spec: m.spec };
    await ctx.client.request("POST", jobsPath(ctx), { body }).catch((err: unknown) => {
      if (!(err instanceof KubeApiError && err.status === 409)) throw err; // created before a restart: adopt it
    });
    return { done: false, message: `Job ${name} created`, checkInMs: 1_000 };
  }
  const cond = (type: string) => found.status?.conditions?.find(c => c.type === type && c.status === "True");
  if (cond("Complete")) {
    await deleteJob(ctx, name).catch(() => undefined);
    return { done: true, message: `Job ${name} completed` };
  }
  if (cond("Failed")) {
    const why = await failingPod(ctx, name);
    await deleteJob(ctx, name).catch(() => undefined);
    throw new ActionError(ActionReason.ActionFailed, `Job ${name} failed: ${why ?? cond("Failed")?.reason ?? "no reason given"}`);
  }
  return { done: false, message: `Job ${name} running`, checkInMs: 1_000 };
}

/** The first terminated container's reason and message among the Job's pods. */
async function failingPod(ctx: VerbContext, job: string): Promise<string | undefined> {
  type Pod = KubeObject & { status?: { reason?: string; message?: string; containerStatuses?: { name: string; state?: { terminated?: { reason?: string; message?: string; exitCode?: number } } }[] } };
  const pods = await ctx.client.get<{ items: Pod[] }>(`/api/v1/namespaces/${ctx.namespace}/pods?labelSelector=${encodeURIComponent(`job-name=${job}`)}`).catch(() => undefined);
  for (const pod of pods?.body.items ?? []) {
    for (const c of pod.status?.containerStatuses ?? []) {
      const t = c.state?.terminated;
      if (t && t.exitCode !== 0) return `pod ${pod.metadata.name} container ${c.name}: ${t.reason ?? "Error"} (exit ${t.exitCode})${t.message ? `: ${t.message}` : ""}`;
    }
    if (pod.status?.reason) return `pod ${pod.metadata.name}: ${pod.status.reason}${pod.status.message ? `: ${pod.status.message}` : ""}`;
  }
  return undefined;
}
