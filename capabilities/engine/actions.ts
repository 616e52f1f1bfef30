// Running a stage's actions: pre before it applies, post once it is Ready, onFailure (best
// effort) when it fails. Each attempt is recorded in the ledger (status.actions) before it
// starts and again when it ends, so a requeue or a restart never repeats a finished action
// for the same pinned revision. An http request cut off by a crash is sent again (with the
// same Idempotency-Key); a Job is found again by its name and adopted.
import { findRecord, runVerb, withRecord, type Action, type Hook, type StageActions } from "../actions";
import { parseDuration, Reason, StageSetError, type ActionRecord } from "../api";
import { OwnerLabel, type KubeObject } from "../apply";
import type { Outcome } from "./queue";
import { assertLeading, NotLeading, nowISO, pinnedArtifact, save, setStage, stageSpec, type Run } from "./run";

const defaultTimeoutMs = 5 * 60_000;
const stageActions = (run: Run, stage: string) => stageSpec(run, stage).actions as StageActions | undefined;

/** Names of each stage's pre and post actions, for the plan. */
export function hooksOf(run: Run): Record<string, { pre: string[]; post: string[] }> {
  return Object.fromEntries(run.stageNames.map(n => [n, { pre: (stageActions(run, n)?.pre ?? []).map(a => a.name), post: (stageActions(run, n)?.post ?? []).map(a => a.name) }]));
}

/** Runs the hook's actions in order until one must wait; undefined when all have succeeded. */
export async function actionStep(run: Run, stage: string, hook: Hook): Promise<Outcome | undefined> {
  run.stage = stage;
  for (const action of stageActions(run, stage)?.[hook] ?? []) {
    const outcome = await advance(run, stage, hook, action, true);
    if (outcome) return outcome;
  }
  return undefined;
}

/** Best effort, once per revision: failures are recorded, never raised. */
export async function runOnFailure(run: Run, stage: string): Promise<void> {
  for (const action of stageActions(run, stage)?.onFailure ?? []) {
    try {
      await advance(run, stage, "onFailure", action, false);
    } catch (err) {
      run.deps.log.warn({ namespace: run.key.namespace, stageset: run.key.name, stage, action: action.name, err: String(err) }, "onFailure action failed");
    }
  }
}

async function advance(run: Run, stage: string, hook: Hook, action: Action, wait: boolean): Promise<Outcome | undefined> {
  const revision = run.status.lastAttemptedRevisions![stage]!;
  const key = { stage, hook, name: action.name, revision };
  let rec = findRecord(run.status.actions, key);
  if (rec?.phase === "Succeeded" || (!wait && rec)) return undefined;
  const retries = action.retries ?? 0;
  if (rec?.phase === "Failed") {
    if (rec.attempts > retries) throw actionFailed(stage, hook, action, rec);
    const left = Date.parse(rec.finishedAt!) + backoffMs(rec.attempts) - run.deps.now();
    if (left > 0) return { kind: "requeue", afterMs: left };
  }
  if (rec?.phase !== "Running") {
    rec = { ...key, phase: "Running", attempts: (rec?.attempts ?? 0) + 1, startedAt: new Date(run.deps.now()).toISOString() };
    await record(run, rec, `Running ${hook} action ${action.name} (attempt ${rec.attempts} of ${retries + 1})`);
  }
  try {
    assertLeading(run.deps); // a Job to create or a request to send: only the leader
    const progress = await runVerb(action, verbContext(run, stage, action, rec));
    if (!progress.done) return wait ? { kind: "requeue", afterMs: progress.checkInMs } : undefined;
    await record(run, { ...rec, phase: "Succeeded", finishedAt: nowISO(run), message: progress.message });
    return undefined;
  } catch (err) {
    if (err instanceof NotLeading) throw err;
    const failed: ActionRecord = { ...rec, phase: "Failed", finishedAt: new Date(run.deps.now()).toISOString(), message: err instanceof Error ? err.message : String(err) };
    const final = rec.attempts > retries || (err instanceof StageSetError && err.terminal) || (err as { retryable?: boolean }).retryable === false;
    await record(run, final ? { ...failed, attempts: Math.max(rec.attempts, retries + 1) } : failed);
    if (final) throw actionFailed(stage, hook, action, failed, err);
    return wait ? { kind: "requeue", afterMs: backoffMs(rec.attempts) } : undefined;
  }
}

function verbContext(run: Run, stage: string, action: Action, rec: ActionRecord) {
  return {
    client: run.client,
    discovery: run.deps.discovery,
    namespace: run.key.namespace,
    key: `${run.key.namespace}/${run.key.name}/${stage}/${action.name}@${rec.revision}`,
    attempt: rec.attempts,
    startedAt: Date.parse(rec.startedAt),
    now: run.deps.now(),
    timeoutMs: (action.timeout && parseDuration(action.timeout)) || defaultTimeoutMs,
    labels: { [OwnerLabel.stageSet]: run.key.name, [OwnerLabel.stage]: stage, "stageset.dev/action": action.name },
    artifactObjects: async (path: string) => (await run.deps.artifacts.objects(pinnedArtifact(run, stage), path, stage, true)).map(p => p.object as KubeObject),
    allowlist: run.deps.actionAllowlist ?? [],
    lookup: run.deps.lookup,
  };
}

async function record(run: Run, rec: ActionRecord, stageMessage?: string): Promise<void> {
  run.status.actions = withRecord(run.status.actions, rec);
  if (stageMessage) {
    const st = run.status.stages?.find(s => s.name === rec.stage);
    if (st) setStage(run, { ...st, message: stageMessage });
  }
  await save(run);
}

function actionFailed(stage: string, hook: Hook, action: Action, rec: ActionRecord, cause?: unknown): StageSetError {
  const reason = cause instanceof StageSetError ? cause.reason : Reason.ActionFailed;
  return new StageSetError(reason, `stage ${stage}: ${hook} action ${action.name} failed after ${rec.attempts} attempt(s): ${rec.message ?? "no message"}`, true, { cause });
}

/** 2 s, 4 s, 8 s … capped at a minute, between attempts of one action. */
const backoffMs = (attempts: number) => Math.min(60_000, 1_000 * 2 ** attempts);
