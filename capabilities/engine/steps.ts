// The steps of a run: start (pin and check every stage), apply one stage, wait for it, and
// finish (prune, tear down removed stages, Ready). Each step updates the status and saves it.
import { Reason, StageSetError } from "../api";
import { applySetId, applyStage, duplicateClaims, groupKind, kindKey, kindsDefinedBy, placeObjects, claimParent, refuseForbiddenApplies, refuseForeignClaims, resolveResources, stageParent, writeParent, type KubeObject, type ParentState } from "../apply";
import { currentRecords } from "../actions";
import { compileExprs } from "../health";
import { durationOr, formatDuration } from "../api";
import { markReconciling } from "./conditions";
import { periodicResync } from "./plan";
import { assertLeading, logFields, nowISO, nowISOPrecise, objectsReady, ownerOf, pinnedArtifact, save, setStage, stageSpec, type Run } from "./run";
import { stageHealth, summarize } from "./stage-health";
import type { Outcome } from "./queue";
import { followStage } from "./health-sync";
import { recordTransition } from "./notifications";

const defaultTimeoutMs = 15 * 60_000;

/** A stage's objects from its pinned artifact, each placed in its namespace (or none, if cluster-scoped). */
export function stageObjects(run: Run, stage: string): Promise<KubeObject[]> {
  let objects = run.objects.get(stage);
  if (!objects) {
    objects = run.deps.artifacts.objects(pinnedArtifact(run, stage), stageSpec(run, stage).path, stage).then(parsed => placeObjects(run.deps.discovery, parsed.map(p => p.object as KubeObject), run.key.namespace));
    run.objects.set(stage, objects);
  }
  return objects;
}

export function compileStageExprs(run: Run): void {
  run.stages.forEach((stage, i) => {
    const exprs = stage.readyChecks?.exprs;
    run.stage = stage.name;
    try {
      run.exprs.set(stage.name, exprs && exprs.length > 0 ? compileExprs(exprs) : undefined);
    } catch (err) {
      // Name the stage and the full field path, as the admission check does.
      if (err instanceof StageSetError) throw new StageSetError(err.reason, `stage ${stage.name}: spec.stages[${i}].${err.message}`, err.terminal, { cause: err });
      throw err;
    }
  });
  run.stage = undefined;
}

/** A run that fails before pinning fails at the artifact it was about to pin: status names that revision as the stage's attempt. */
function failedAtPin(run: Run, stage: string): void {
  const { revision, digest } = pinnedArtifact(run, stage);
  run.stage = stage;
  setStage(run, { ...run.status.stages?.find(s => s.name === stage), name: stage, phase: "Failed", attemptedRevision: revision, attemptedDigest: digest });
}

export async function startRun(run: Run, why: string, requestedAt: string | undefined): Promise<void> {
  // Every stage is loaded before anything is applied; the first one (in spec order) that cannot
  // be loaded is the stage the failure is reported on, so status.stages says which one broke.
  const loaded = await Promise.allSettled(run.stageNames.map(stage => stageObjects(run, stage)));
  const broken = loaded.findIndex(r => r.status === "rejected");
  if (broken >= 0) {
    // The failure belongs to the artifact that failed, not to the one applied before it.
    failedAtPin(run, run.stageNames[broken]!);
    throw (loaded[broken] as PromiseRejectedResult).reason;
  }
  const all = run.stageNames.map((stage, i) => ({ stage, objects: (loaded[i] as PromiseFulfilledResult<KubeObject[]>).value }));
  const dupes = duplicateClaims(all);
  if (dupes.length > 0) {
    const list = dupes.map(d => `${d.id.replace(/^\//, "")} is in stages ${d.stages.join(" and ")}`).join("; ");
    failedAtPin(run, dupes[0]!.stages.at(-1)!); // the later stage claims an object an earlier one already owns
    throw new StageSetError(Reason.DuplicateObject, `an object may belong to one stage only: ${list}`);
  }
  const pins = Object.fromEntries(run.stageNames.map(n => [n, pinnedArtifact(run, n).revision]));
  // A spec change gives failed actions another chance (the fix is usually in the spec); what succeeded stays done.
  const specChanged = run.status.runGeneration !== undefined && run.status.runGeneration !== run.generation;
  const digests = Object.fromEntries(run.stageNames.map(n => [n, pinnedArtifact(run, n).digest]));
  const now = nowISO(run);
  run.status = {
    ...run.status,
    observedGeneration: run.generation,
    runGeneration: run.generation,
    runStartedAt: nowISOPrecise(run),
    lastAttemptedRevisions: pins,
    actions: currentRecords(run.status.actions, pins, specChanged),
    ...(requestedAt !== undefined ? { lastHandledReconcileAt: requestedAt } : {}),
    conditions: markReconciling(run.status.conditions, Reason.Progressing, `Run started: ${why}`, run.generation, now),
  };
  for (const name of run.stageNames) {
    const st = run.status.stages?.find(s => s.name === name);
    const same = st?.attemptedRevision === pins[name] && st?.attemptedDigest === digests[name];
    // A stage passed at this very artifact keeps its phase while the run re-checks it.
    if (same && (st?.phase === "Ready" || st?.phase === "Degraded")) continue;
    setStage(run, { ...st, name, phase: "Pending", attemptedRevision: pins[name], attemptedDigest: digests[name], message: "Waiting for earlier stages" });
  }
  await save(run);
  run.deps.log.info({ namespace: run.key.namespace, stageset: run.key.name, why }, "run started");
  // A periodic resync is routine: it records an Event only if it finds something to report.
  if (why !== periodicResync) await recordTransition(run, "Normal", Reason.Progressing, `Run started: ${why}`, { notify: "RunStarted" });
}

/**
 * What must hold before anything of the stage happens (its pre actions included): every kind
 * known, the ServiceAccount allowed, no object or parent name another's. Throws the refusal.
 */
export async function preflight(run: Run, stage: string): Promise<{ objects: KubeObject[]; ctx: Parameters<typeof resolveResources>[0]; parent: ParentState }> {
  run.stage = stage;
  const objects = await stageObjects(run, stage);
  const owner = ownerOf(run, stage);
  const id = applySetId(stageParent({ name: run.key.name, namespace: run.key.namespace }, stage));
  const ctx = { client: run.client, discovery: run.deps.discovery, owner, applySetId: id, concurrency: run.deps.applyConcurrency };
  await checkKindsBeforeApply(run, ctx, objects);
  return { objects, ctx, parent: await claimParent(run.client, owner) };
}

export async function applyStep(run: Run, stage: string): Promise<void> {
  const { objects, ctx, parent } = await preflight(run, stage);
  const owner = ctx.owner;
  const revision = run.status.lastAttemptedRevisions![stage]!;
  // The digest too: after a newer artifact failed before it was pinned, this names what is tried now.
  const digest = pinnedArtifact(run, stage).digest;
  const st = run.status.stages?.find(s => s.name === stage);
  const reapply = st?.appliedRevision === revision;
  // Other content is about to reach the cluster: what was verified no longer describes it,
  // even if this apply fails halfway and the source then goes back to the verified artifact.
  const verifiedGeneration = st?.appliedDigest === digest ? st.verifiedGeneration : undefined;
  setStage(run, { name: stage, phase: "Applying", attemptedRevision: revision, attemptedDigest: digest, verifiedGeneration, message: `Applying ${objects.length} objects` });
  run.status.currentStage = stage;
  run.status.currentRevision = revision;
  const namespaces = objects.map(o => o.metadata.namespace ?? run.key.namespace);
  assertLeading(run.deps); // the preflight's reads took time: check again right before writing
  await writeParent(run.client, owner, run.stageNames.indexOf(stage), [...parent.groupKinds, ...objects.map(groupKind)], [...parent.namespaces, ...namespaces], stageSpec(run, stage).prune !== false);
  const prior = await run.deps.applySnapshots?.before(objects, run.deps.discovery, run.deps.liveHealth, run.client, run.exprs.get(stage));
  assertLeading(run.deps);
  const applied = await applyStage(ctx, objects);
  if (prior) run.deps.applySnapshots?.after(applied, prior);
  run.live.set(stage, applied.map(a => a.object));
  const created = applied.filter(a => a.action === "created").length;
  // The same revision again (a resync): whatever it changed had drifted in the cluster.
  run.deps.metrics.stageApplied(applied.length, reapply ? applied.filter(a => a.changed).length : 0);
  setStage(run, { name: stage, phase: "Waiting", attemptedRevision: revision, attemptedDigest: digest, objects: applied.length, lastAppliedTime: nowISOPrecise(run), message: `Applied ${applied.length} objects (${created} created); waiting for them to become Ready` });
  await save(run);
  run.deps.log.info({ namespace: run.key.namespace, stageset: run.key.name, stage, revision, objects: applied.length, created }, "stage applied");
}

/**
 * Before anything of the stage is applied: only kinds that a CRD earlier in this stage will
 * define may be unknown, and no object may belong to another StageSet unless the stage takes it.
 */
async function checkKindsBeforeApply(run: Run, ctx: Parameters<typeof resolveResources>[0], objects: KubeObject[]): Promise<void> {
  const known = await resolveResources(ctx, objects);
  if (run.serviceAccount) await refuseForbiddenApplies(run.client, run.serviceAccount, ctx.owner.stage, known, run.key.namespace);
  await refuseForeignClaims(ctx.client, ctx.owner, known, stageSpec(run, ctx.owner.stage).takeOwnership === true);
  const defined = kindsDefinedBy(objects);
  const unknown = objects.filter(o => !known.has(o) && !defined.has(kindKey(o)));
  if (unknown.length === 0) return;
  const list = unknown.map(o => `${o.kind}/${o.metadata.name} (${o.apiVersion})`).join(", ");
  throw new StageSetError(Reason.UnknownKind, `stage ${run.stage}: the API server does not serve the kind of ${list}; nothing was applied`);
}

export async function waitStep(run: Run, stage: string): Promise<Outcome | undefined> {
  run.stage = stage;
  const spec = stageSpec(run, stage);
  const st = run.status.stages!.find(s => s.name === stage)!;
  const revision = st.attemptedRevision!;
  const objects = await stageObjects(run, stage);
  const health = spec.readyChecks?.disableWait
    ? { status: "Current" as const, total: objects.length, ready: objects.length, notReady: [], failed: [], versions: new Map<string, string>() }
    : await stageHealth(run.client, run.deps.discovery, objects, spec.readyChecks?.checks ?? [], run.exprs.get(stage), run.key.namespace, run.deps.now(), run.live.get(stage), run.deps.applySnapshots?.byObject);
  run.live.delete(stage); // later checks read the objects again
  if (health.status === "Failed") {
    throw new StageSetError(Reason.HealthCheckFailed, `stage ${stage} revision ${revision} failed: ${summarize(health.failed)}`);
  }
  if (health.status === "Current") return void (await markStageReady(run, stage, revision, health.total, health.versions));
  const waited = run.deps.now() - Date.parse(st.lastAppliedTime!);
  const timeoutMs = durationOr(defaultTimeoutMs, spec.readyChecks?.timeout, spec.timeout, run.ss.spec?.timeout);
  if (waited >= timeoutMs) {
    throw new StageSetError(Reason.HealthCheckTimeout, `stage ${stage} revision ${revision}: ${health.notReady.length} of ${health.total} objects not Ready after ${formatDuration(timeoutMs)}: ${summarize(health.notReady)}`);
  }
  const message = `Waiting for ${health.total - health.ready} of ${health.total} objects: ${summarize(health.notReady)}`;
  if (message !== st.message) {
    setStage(run, { ...st, message });
    await save(run);
  }
  return { kind: "requeue", afterMs: pollInterval(waited) };
}

async function markStageReady(run: Run, stage: string, revision: string, total: number, versions: Map<string, string>): Promise<void> {
  const st = run.status.stages!.find(s => s.name === stage)!;
  const digest = pinnedArtifact(run, stage).digest;
  const reverified = st.verifiedGeneration === run.generation && st.appliedRevision === revision && st.appliedDigest === digest;
  // A soak belongs to the content: the same artifact verified again (a resync, a spec change) keeps it.
  const soakEndsAt = st.appliedRevision === revision && st.appliedDigest === digest ? st.soakEndsAt : undefined;
  setStage(run, { ...st, phase: "Ready", appliedRevision: revision, appliedDigest: digest, verifiedGeneration: run.generation, soakEndsAt, message: objectsReady(total) });
  if (st.lastAppliedTime) run.deps.metrics.stageReady((run.deps.now() - Date.parse(st.lastAppliedTime)) / 1000);
  // Following is best effort here: a failure to start it must not fail a stage that is Ready.
  await followStage(run, stage, versions).catch(err => {
    run.unfollowed = true;
    run.deps.log.warn({ ...logFields(run), err: String(err) }, "cannot follow the stage's health live yet: its gate stays closed until it can");
  });
  await save(run);
  run.deps.log.info({ namespace: run.key.namespace, stageset: run.key.name, stage, revision }, "stage ready");
  if (!reverified) await recordTransition(run, "Normal", "StageReady", `Stage ${stage} is Ready at revision ${revision}`, { notify: "StageReady", stage, revision });
}

/** Look often just after an apply (most stages settle in seconds), then back off. */
function pollInterval(waitedMs: number): number {
  if (waitedMs < 5_000) return 500;
  if (waitedMs < 60_000) return 2_000;
  return 5_000;
}
