// `stageset diff`: what each stage's newest artifact would change in the cluster, object by
// object: the live object against a server-side dry-run apply of exactly what the controller
// would apply (its labels, its field manager, force), and the members prune would delete.
import { Reason, StageSetError, type Artifact, type Stage, type StageSet } from "../../capabilities/api";
import { ApplySetLabel, claimParent, describe, listMembers, listParentStages, mapBounded, objectId, placeObjects, prunePlan, readParent, OwnerLabel, refuseForeignClaims, resolveResources, withOwnership, type KubeObject, type Owner, type ParentState } from "../../capabilities/apply";
import { loadStageManifests } from "../../capabilities/artifacts";
import { resolveSources } from "../../capabilities/engine";
import { Discovery, KubeApiError, resourcePath, splitApiVersion, type KubeClient, type ResourceInfo } from "../../capabilities/kube";
import { UsageError } from "../args";
import { objectDiff } from "./text-diff";

export type Change = "create" | "update" | "delete" | "unchanged";

export interface ObjectDiff {
  /** group/Kind/namespace/name: objectId, as the engine names objects (the core group is empty). */
  id: string;
  change: Change;
  /** Unified diff from live to merged; empty when unchanged. */
  diff: string;
  /** Why the "after" side is the manifest itself rather than the API server's dry-run answer. */
  note?: string;
}

export interface StageDiff {
  stage: string;
  /** What the stage's source publishes now; empty when it cannot be read, or the stage left the spec. */
  revision: string;
  /** The revision last applied and verified Ready (status.stages[].appliedRevision). */
  appliedRevision?: string;
  objects: ObjectDiff[];
  /** Why the stage (or some of its objects) could not be diffed, as the engine would report it. */
  error?: string;
  /** The stage is no longer in the spec: the next run tears it down. */
  removed?: boolean;
  note?: string;
}

/** What one stage's diff works with: the user's client, and the stage's owner and ApplySet. */
interface StageScope {
  client: KubeClient;
  discovery: Discovery;
  owner: Owner;
  applySetId: string;
}

/** Requests in flight per stage: each object costs a GET and a dry-run PATCH. */
const concurrency = 8;

/**
 * Each stage of the spec (or the one asked), then the stages a run would tear down, in that
 * order. Reads and dry-runs only, as the client's user (not the StageSet's ServiceAccount).
 * One stage's failure goes into its `error`; the others are still diffed.
 */
export async function diffStageSet(client: KubeClient, ss: StageSet, opts: { stage?: string } = {}): Promise<StageDiff[]> {
  const name = ss.metadata!.name!;
  const namespace = ss.metadata!.namespace!;
  const stages = (ss.spec?.stages ?? []).filter(s => !opts.stage || s.name === opts.stage);
  const discovery = new Discovery(client);
  const applied = (stage: string) => ss.status?.stages?.find(s => s.name === stage)?.appliedRevision;
  const diffs: StageDiff[] = [];
  for (const stage of stages) diffs.push(await diffStage(client, discovery, { name, namespace }, stage, applied(stage.name)));
  const inSpec = new Set((ss.spec?.stages ?? []).map(s => s.name));
  if (!opts.stage || !inSpec.has(opts.stage)) {
    const gone = await removedStages(client, discovery, { name, namespace }, inSpec, opts.stage);
    diffs.push(...gone.map(d => ({ ...d, appliedRevision: applied(d.stage) })));
  }
  if (opts.stage && diffs.length === 0) throw new UsageError(`StageSet ${namespace}/${name} has no stage ${JSON.stringify(opts.stage)}`);
  return diffs;
}

async function diffStage(client: KubeClient, discovery: Discovery, key: { name: string; namespace: string }, stage: Stage, appliedRevision: string | undefined): Promise<StageDiff> {
  const result: StageDiff = { stage: stage.name, revision: "", appliedRevision, objects: [] };
  try {
    const { sources, failure } = await resolveSources(client, discovery, key.namespace, [stage]);
    if (failure) throw failure;
    const artifact = sources.get(stage.name)!.artifact;
    result.revision = artifact.revision;
    const objects = await placeObjects(discovery, await stageManifests(artifact, stage), key.namespace);
    const owner = { stageSet: key.name, namespace: key.namespace, stage: stage.name };
    // The engine's preflight, read-only: the same refusals the apply would meet first.
    const parent = await claimParent(client, owner);
    const scope: StageScope = { client, discovery, owner, applySetId: parent.id };
    const known = await resolveResources(scope, objects);
    await refuseForeignClaims(client, owner, known, stage.takeOwnership === true);
    const failures: string[] = [];
    const changes = await mapBounded(objects, concurrency, o =>
      diffObject(scope, o, known.get(o)).catch(err => void failures.push(errorMessage(err))),
    );
    // prune: false keeps what left the stage where it is: nothing to delete, nothing to show.
    const deletes = stage.prune === false ? [] : await prunedMembers(scope, parent, new Set(objects.map(objectId)));
    result.objects = [...changes.filter(c => c !== undefined), ...deletes];
    if (failures.length > 0) result.error = `stage ${stage.name}: ${failures.join("; ")}`;
  } catch (err) {
    result.error = errorMessage(err, stage.name);
  }
  return result;
}

/**
 * Download, verify, extract and parse as the engine's ArtifactCache does (capabilities/engine/
 * sources.ts): the same caps, the same destination guard (no allowlist: that is the
 * controller's setting), and its errors' `stage …: artifact …` prefix.
 */
async function stageManifests(artifact: Artifact, stage: Stage): Promise<KubeObject[]> {
  try {
    return (await loadStageManifests(artifact, stage.path)).map(p => p.object as KubeObject);
  } catch (err) {
    if (!(err instanceof StageSetError)) throw err;
    throw new StageSetError(err.reason, `stage ${stage.name}: artifact ${artifact.revision}: ${err.message}`, err.terminal, { cause: err });
  }
}

/** One object: create (absent now), update or unchanged, from the live object and the dry-run's answer. */
async function diffObject(scope: StageScope, o: KubeObject, resource: ResourceInfo | undefined): Promise<ObjectDiff> {
  const id = objectId(o);
  if (!resource) {
    // A kind a CRD of this release defines is served only once that CRD is applied.
    const note = `the API server does not serve ${o.kind} in ${o.apiVersion} yet, so this is the manifest as it would be sent; a CRD applied before it must define it, or the apply fails with ${Reason.UnknownKind}`;
    return { id, change: "create", diff: objectDiff(undefined, withOwnership(o, scope, unserved(o))), note };
  }
  const body = withOwnership(o, scope, resource);
  const path = resourcePath(resource, body.metadata.namespace, body.metadata.name);
  const live = await scope.client.get<KubeObject>(path, { allow: [404] });
  const before = live.status === 404 ? undefined : live.body;
  let merged: KubeObject;
  try {
    merged = (await scope.client.apply<KubeObject>(path, body, { dryRun: true })).body;
  } catch (err) {
    // Absent, and its namespace too (a Namespace of this release): the dry-run cannot create it.
    if (!before && err instanceof KubeApiError && err.status === 404) {
      return { id, change: "create", diff: objectDiff(undefined, body), note: `the dry-run was refused (${err.message}), so this is the manifest as it would be sent` };
    }
    const detail = err instanceof KubeApiError ? `${err.status} ${err.reason}: ${err.message}` : String(err);
    const reason = err instanceof KubeApiError && err.status === 403 ? Reason.Forbidden : Reason.ApplyFailed;
    throw new StageSetError(reason, `${describe(o)}: dry-run apply failed: ${detail}`, false, { cause: err });
  }
  const diff = objectDiff(before, merged);
  return { id, change: !before ? "create" : diff ? "update" : "unchanged", diff };
}

/**
 * Stages that still have an ApplySet parent but left the spec: the next run tears them down,
 * deleting their members, or with prune: false (recorded on the parent) releasing them.
 */
async function removedStages(client: KubeClient, discovery: Discovery, key: { name: string; namespace: string }, inSpec: Set<string>, only: string | undefined): Promise<StageDiff[]> {
  const gone = (await listParentStages(client, key)).filter(s => !inSpec.has(s) && (!only || s === only));
  const diffs: StageDiff[] = [];
  for (const stage of gone) {
    const result: StageDiff = { stage, revision: "", objects: [], removed: true };
    try {
      const owner = { stageSet: key.name, namespace: key.namespace, stage };
      const parent = await readParent(client, owner);
      if (parent.foreign) continue; // not this stage's parent: the teardown leaves it alone
      const scope = { client, discovery, owner, applySetId: parent.id };
      result.objects = parent.pruneDisabled ? await releasedMembers(scope, parent) : await prunedMembers(scope, parent, new Set());
    } catch (err) {
      result.error = errorMessage(err, stage);
    }
    diffs.push(result);
  }
  return diffs;
}

/** Where an unserved kind would live: its scope as placeObjects decided it (from a CRD in the stage, or the manifest). */
function unserved(o: KubeObject): ResourceInfo {
  const { group, version } = splitApiVersion(o.apiVersion);
  return { group, version, kind: o.kind, plural: "", namespaced: o.metadata.namespace !== undefined };
}

/**
 * Members of the stage's ApplySet that prune would delete (prunePlan decides, as for the
 * engine: opted-out and relabelled objects stay), each shown whole as it is now.
 */
async function prunedMembers(scope: StageScope, parent: ParentState, desired: Set<string>): Promise<ObjectDiff[]> {
  const found = await listMembers(scope.client, scope.discovery, scope.owner, parent);
  const gone = await mapBounded(prunePlan(found, desired, scope.owner).delete, concurrency, async o => {
    const live = await liveObject(scope, o);
    return live && { id: objectId(o), change: "delete" as const, diff: objectDiff(live, undefined) };
  });
  return gone.filter(d => d !== undefined);
}

/** prune: false at teardown (releaseMembers): each member stays, without our owner and ApplySet labels. */
async function releasedMembers(scope: StageScope, parent: ParentState): Promise<ObjectDiff[]> {
  const ours = (o: KubeObject) => o.metadata.labels?.[OwnerLabel.stage] === scope.owner.stage && o.metadata.labels?.[OwnerLabel.stageSet] === scope.owner.stageSet;
  const members = (await listMembers(scope.client, scope.discovery, scope.owner, parent)).filter(ours);
  const released = await mapBounded(members, concurrency, async o => {
    const live = await liveObject(scope, o);
    if (!live) return undefined;
    const labels = Object.fromEntries(Object.entries(live.metadata.labels ?? {}).filter(([k]) => k !== ApplySetLabel.partOf && !Object.values<string>(OwnerLabel).includes(k)));
    return { id: objectId(o), change: "update" as const, diff: objectDiff(live, { ...live, metadata: { ...live.metadata, labels } }) };
  });
  return released.filter(d => d !== undefined);
}

/** The whole object as it is now; undefined if it is gone (or its kind is). */
async function liveObject(scope: StageScope, o: KubeObject): Promise<KubeObject | undefined> {
  const resource = await scope.discovery.resolve(o.apiVersion, o.kind);
  if (!resource) return undefined;
  const res = await scope.client.get<KubeObject>(resourcePath(resource, o.metadata.namespace, o.metadata.name), { allow: [404] });
  return res.status === 404 ? undefined : res.body;
}

/** The message a user sees: a StageSetError's own (it names the stage), else the API server's or the runtime's. */
function errorMessage(err: unknown, stage?: string): string {
  const prefix = stage ? `stage ${stage}: ` : "";
  if (err instanceof StageSetError) return err.message.startsWith(prefix) ? err.message : prefix + err.message;
  if (err instanceof KubeApiError) return `${prefix}${err.method} ${err.path}: ${err.status} ${err.reason}: ${err.message}`;
  return prefix + (err instanceof Error ? err.message : String(err));
}
