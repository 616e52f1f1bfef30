// The end of a run, and the end of a StageSet. Prune happens only here, after every stage
// is Ready: objects that left a stage are deleted (last stage first), stages removed from
// the spec are torn down in reverse order, and the StageSet becomes Ready. Deletion tears
// every stage down in reverse order before the finalizer lets go.
import { ConditionType, Reason, StageSetError } from "../api";
import { claimParent, deleteParent, groupKind, listParentStages, objectId, pruneStage, readParent, releaseMembers, writeParent } from "../apply";
import { getCondition, markReady } from "./conditions";
import { periodicResync } from "./plan";
import { syncReadyCondition } from "./health-sync";
import type { Outcome } from "./queue";
import { assertLeading, nowISO, ownerOf, pinnedSummary, save, type Run } from "./run";
import { stageSetPath } from "./status";
import { stageObjects } from "./steps";
import { recordTransition } from "./notifications";
import { durationOr } from "../api";

export const finalizer = "stageset.dev/finalizer";
const defaultIntervalMs = 10 * 60_000;

export async function finishRun(run: Run): Promise<Outcome> {
  let pruned = 0;
  for (const stage of [...run.stageNames].reverse()) {
    run.stage = stage;
    const objects = await stageObjects(run, stage);
    const owner = ownerOf(run, stage);
    const parent = await claimParent(run.client, owner);
    if (run.stages.find(s => s.name === stage)?.prune !== false) {
      assertLeading(run.deps);
      const result = await pruneStage(run.client, run.deps.discovery, owner, parent, new Set(objects.map(objectId)));
      pruned += result.deleted.length;
      run.deps.metrics.pruned(result.deleted.length);
      // Kinds and namespaces of objects kept by opt-out stay tracked; the rest narrow to the stage.
      await writeParent(run.client, owner, run.stageNames.indexOf(stage), [...objects.map(groupKind), ...result.kept.map(k => groupKind(k.object))], [...objects.map(o => o.metadata.namespace ?? run.key.namespace), ...result.kept.map(k => k.object.metadata.namespace ?? "")]);
    }
  }
  run.stage = undefined;
  const removed = await teardownRemovedStages(run);
  const summary = pinnedSummary(run);
  run.status.lastAppliedRevisions = { ...run.status.lastAttemptedRevisions };
  run.status.stages = run.status.stages?.filter(s => run.stageNames.includes(s.name));
  // A periodic resync that pruned nothing and met no failure on the way changed nothing worth an Event.
  const routine = getCondition(run.status.conditions, ConditionType.Reconciling)?.message === `Run started: ${periodicResync}` && pruned === 0 && removed.length === 0;
  run.status.conditions = markReady(run.status.conditions, Reason.Succeeded, `Applied ${summary}`, run.generation, nowISO(run));
  // A stage that degraded after the run passed it keeps the StageSet from Ready.
  const degraded = syncReadyCondition(run);
  await save(run);
  run.deps.log.info({ namespace: run.key.namespace, stageset: run.key.name, pruned, removedStages: removed }, "run finished");
  if (!routine && !degraded) await recordTransition(run, "Normal", Reason.Succeeded, `All ${run.stageNames.length} stages Ready (${summary}); pruned ${pruned} objects${removed.length ? `; removed stages ${removed.join(", ")}` : ""}`, { notify: "Succeeded" });
  return { kind: "resync", afterMs: durationOr(defaultIntervalMs, run.ss.spec?.interval) };
}

/** Stages that still have an ApplySet parent but are no longer in the spec, last first. */
async function teardownRemovedStages(run: Run): Promise<string[]> {
  const gone = (await listParentStages(run.client, run.key)).filter(s => !run.stageNames.includes(s));
  for (const stage of gone) await teardownStage(run, stage);
  return gone;
}

export async function teardownStage(run: Run, stage: string): Promise<void> {
  assertLeading(run.deps);
  const owner = ownerOf(run, stage);
  const parent = await readParent(run.client, owner);
  // Its parent's name is another's: this stage never applied anything, so there is nothing to tear down.
  if (parent.foreign) return run.deps.log.info({ namespace: run.key.namespace, stageset: run.key.name, stage, parent: parent.foreign }, "stage has no ApplySet parent of its own; nothing to tear down");
  // prune: false (in the spec, or as recorded on the parent of a stage gone from it): the objects stay, released.
  const inSpec = run.stages.find(s => s.name === stage);
  if (inSpec ? inSpec.prune === false : parent.pruneDisabled) {
    const kept = await releaseMembers(run.client, run.deps.discovery, owner, parent);
    run.deps.log.info({ namespace: run.key.namespace, stageset: run.key.name, stage, kept }, "stage torn down; its objects are kept and released (prune: false)");
    await deleteParent(run.client, owner);
    return;
  }
  try {
    const result = await pruneStage(run.client, run.deps.discovery, owner, parent, new Set());
    run.deps.metrics.pruned(result.deleted.length);
    run.deps.log.info({ namespace: run.key.namespace, stageset: run.key.name, stage, deleted: result.deleted.length, kept: result.kept.length }, "stage torn down");
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new StageSetError(Reason.TeardownFailed, `tearing down stage ${stage}: ${detail}`, false, { cause: err });
  }
  await deleteParent(run.client, owner);
}

/** Deletion: every stage, last first, then release the finalizer. */
export async function finalize(run: Run): Promise<Outcome> {
  let order: string[] = [];
  try {
    order = await listParentStages(run.client, run.key);
    for (const stage of order) await teardownStage(run, stage);
  } catch (err) {
    // A namespace being deleted takes the ServiceAccount (and its RoleBindings) with it: with
    // nobody left to act as, the objects go with the namespace; holding the finalizer would only
    // keep the namespace Terminating forever. Otherwise the error stands and the finalizer stays.
    if (!(await serviceAccountGone(run))) throw err;
    const message = `ServiceAccount ${run.serviceAccount} no longer exists: stages not torn down (${err instanceof Error ? err.message : String(err)})`;
    run.deps.log.warn({ namespace: run.key.namespace, stageset: run.key.name }, message);
    await run.deps.events.record(run.ss, "Warning", Reason.TeardownSkipped, message);
  }
  const finalizers = run.ss.metadata?.finalizers ?? [];
  const i = finalizers.indexOf(finalizer);
  if (i >= 0) {
    assertLeading(run.deps);
    await run.deps.client.jsonPatch(stageSetPath(run.key), [
      { op: "test", path: `/metadata/finalizers/${i}`, value: finalizer },
      { op: "remove", path: `/metadata/finalizers/${i}` },
    ]);
  }
  run.deps.log.info({ namespace: run.key.namespace, stageset: run.key.name, stages: order }, "torn down; finalizer removed");
  return { kind: "forget" };
}



/**
 * The ServiceAccount is gone because its namespace is being deleted. A ServiceAccount deleted
 * on its own does not count: a tenant could otherwise delete it, then the StageSet, to leave
 * objects outside the namespace behind; the finalizer then waits for the ServiceAccount.
 */
async function serviceAccountGone(run: Run): Promise<boolean> {
  if (!run.serviceAccount) return false;
  const [namespace, name] = run.serviceAccount.split("/") as [string, string];
  const sa = await run.deps.client.get(`/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}`, { allow: [404] });
  if (sa.status !== 404) return false;
  const ns = await run.deps.client.get<{ metadata?: { deletionTimestamp?: string } }>(`/api/v1/namespaces/${encodeURIComponent(namespace)}`, { allow: [404] });
  return ns.status === 404 || ns.body.metadata?.deletionTimestamp !== undefined;
}
