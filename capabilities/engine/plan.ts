// What to do next for a StageSet, decided from its spec, its status and the revisions its
// sources publish now. Pure: the engine reads the world, asks nextStep, does one step,
// writes status, and asks again. A restart therefore resumes where the status says.
//
// A run pins one revision per stage (status.lastAttemptedRevisions) and walks the stages in
// order: a stage is applied, then waited on until Ready, before the next one is touched.
// A new run starts on the first reconcile, a spec change, a new revision of any stage, a
// reconcile request, or the periodic resync of a finished run.
import { pendingActions, type Hook } from "../actions";
import { Reason, type ApprovalRecord, type PublishedArtifact, type StageSetStatus, type StageStatus } from "../api";
import { approvalFor } from "../promotion";

export interface PlanInput {
  generation: number;
  stageNames: string[];
  status: StageSetStatus;
  /** The artifact (revision and digest) each stage's source publishes now. */
  artifacts: Record<string, PublishedArtifact>;
  /** The reconcile.fluxcd.io/requestedAt annotation, if any. */
  requestedAt?: string;
  now: number;
  intervalMs: number;
  /** Names of each stage's pre and post actions, in spec order. */
  hooks?: Record<string, Partial<Record<"pre" | "post", string[]>>>;
  /** Each stage's promotion: its soak in ms, and whether it needs an approval. */
  promotion?: Record<string, { soakMs?: number; approval?: boolean }>;
  /** The approvals recorded (status.approvals). */
  approvals?: ApprovalRecord[];
}

export const periodicResync = "periodic resync";

export type Step =
  // held: a run that takes new content (the first run, a new revision or digest) and may
  // therefore wait for dependencies, change windows and a freeze; a resync, a reconcile request
  // or a spec change that keeps the revisions re-applies what is applied and does not.
  | { kind: "start-run"; why: string; held: boolean }
  // Once the stage is Ready and its post actions succeeded: its soak, then its approval.
  | { kind: "soak"; stage: string }
  | { kind: "approval"; stage: string }
  | { kind: "action"; stage: string; hook: Hook }
  | { kind: "apply"; stage: string }
  | { kind: "wait"; stage: string }
  | { kind: "finish" }
  | { kind: "idle"; resyncInMs: number };

export function nextStep(input: PlanInput): Step {
  const restart = whyRestart(input);
  if (restart) return { kind: "start-run", ...restart };
  const { status } = input;
  const pins = status.lastAttemptedRevisions ?? {};
  const startedAt = Date.parse(status.runStartedAt!);
  for (const name of input.stageNames) {
    const st = stageStatus(status, name);
    const inRun = st?.lastAppliedTime !== undefined && Date.parse(st.lastAppliedTime) >= startedAt && st.attemptedRevision === pins[name];
    // pre actions run before the stage is applied, post actions once it is Ready; each at most
    // once per pinned revision (the ledger), so a resync of the same revision skips them.
    const pending = (hook: "pre" | "post") => pendingActions(status.actions, name, hook, pins[name]!, input.hooks?.[name]?.[hook] ?? []).length > 0;
    // A stage that went Degraded after it was verified in this run stays passed: live health
    // reports it, and the run does not apply it again for that.
    if (inRun && (st?.phase === "Ready" || st?.phase === "Degraded")) {
      if (pending("post")) return { kind: "action", stage: name, hook: "post" };
      const promotion = input.promotion?.[name];
      if (promotion?.soakMs && !soaked(st, input.now)) return { kind: "soak", stage: name };
      if (promotion?.approval && !approvalFor(input.approvals, name, pins[name], st?.attemptedDigest)) return { kind: "approval", stage: name };
      continue;
    }
    if (inRun && st?.phase === "Waiting") return { kind: "wait", stage: name };
    if (pending("pre")) return { kind: "action", stage: name, hook: "pre" };
    return { kind: "apply", stage: name };
  }
  if (!isRunComplete(input)) return { kind: "finish" };
  const elapsed = input.now - startedAt;
  if (elapsed >= input.intervalMs) return { kind: "start-run", why: periodicResync, held: false };
  return { kind: "idle", resyncInMs: input.intervalMs - elapsed };
}

/** A stage's soak has run its course (a degradation during it clears soakEndsAt, so the clock starts again). */
function soaked(st: StageStatus | undefined, now: number): boolean {
  return st?.soakEndsAt !== undefined && Date.parse(st.soakEndsAt) <= now;
}

function whyRestart(input: PlanInput): { why: string; held: boolean } | undefined {
  const { status } = input;
  if (!status.runStartedAt || !status.lastAttemptedRevisions) return { why: "first reconcile", held: true };
  const pins = status.lastAttemptedRevisions;
  // The digest is part of the pin: a republish under the same revision with new content is new.
  const moved = input.stageNames.filter(n => {
    const st = stageStatus(status, n);
    const republished = st?.attemptedRevision === pins[n] && st?.attemptedDigest !== undefined && st.attemptedDigest !== input.artifacts[n]?.digest;
    return pins[n] !== input.artifacts[n]?.revision || republished;
  });
  // Only new content is held (dependencies, windows, freeze): a spec change that keeps the
  // revisions (setting a freeze is one) re-verifies what is applied, as a resync does.
  const held = moved.length > 0;
  if (status.runGeneration !== input.generation) return { why: `spec changed (generation ${input.generation})`, held };
  if (held) return { why: moved.map(n => (pins[n] === input.artifacts[n]?.revision ? `stage ${n} republished ${pins[n]} with digest ${input.artifacts[n]?.digest}` : `stage ${n} has revision ${input.artifacts[n]?.revision}`)).join("; "), held };
  if (input.requestedAt !== undefined && input.requestedAt !== status.lastHandledReconcileAt) return { why: `reconcile requested at ${input.requestedAt}`, held: false };
  return undefined;
}

/**
 * Every stage Ready at its pin, and the run's end (prune, Ready=True) already recorded. A run
 * that finished and then degraded (Ready=False, HealthDegraded) is still finished.
 */
export function isRunComplete(input: Pick<PlanInput, "generation" | "stageNames" | "status">): boolean {
  const { status } = input;
  const ready = status.conditions?.find(c => c.type === "Ready");
  const finished = ready?.status === "True" || ready?.reason === Reason.HealthDegraded;
  if (!finished || status.observedGeneration !== input.generation || status.runGeneration !== input.generation) return false;
  const applied = status.lastAppliedRevisions ?? {};
  const pins = status.lastAttemptedRevisions ?? {};
  return input.stageNames.every(n => applied[n] !== undefined && applied[n] === pins[n]) && Object.keys(applied).length === input.stageNames.length;
}

export function stageStatus(status: StageSetStatus, name: string): StageStatus | undefined {
  return status.stages?.find(s => s.name === name);
}

/** Status with one stage's entry replaced (or added), kept in spec order. */
export function withStage(status: StageSetStatus, stageNames: string[], next: StageStatus): StageSetStatus {
  const byName = new Map((status.stages ?? []).map(s => [s.name, s]));
  byName.set(next.name, next);
  const ordered = stageNames.map(n => byName.get(n)).filter((s): s is StageStatus => s !== undefined);
  return { ...status, stages: ordered };
}

/**
 * Statuses written before stages recorded what they were verified under (digest and
 * generation): a finished run's Ready stages at the artifact published now are taken as
 * verified under the current generation, so an upgrade does not close their gates, and a
 * routine resync is due at once to verify the digest. Undefined when there is nothing to upgrade.
 */
export function upgradedStatus(status: StageSetStatus, generation: number, artifacts: Record<string, PublishedArtifact>): StageSetStatus | undefined {
  const ready = status.conditions?.find(c => c.type === "Ready");
  if (ready?.status !== "True" || status.runGeneration !== generation || status.observedGeneration !== generation) return undefined;
  const pins = status.lastAttemptedRevisions ?? {};
  let changed = false;
  const stages = (status.stages ?? []).map(st => {
    const artifact = artifacts[st.name];
    if (st.verifiedGeneration !== undefined || st.phase !== "Ready" || !artifact || st.appliedRevision !== artifact.revision || pins[st.name] !== artifact.revision) return st;
    changed = true;
    return { ...st, attemptedDigest: artifact.digest, appliedDigest: artifact.digest, verifiedGeneration: generation };
  });
  // The digest stamped is the one published now, not necessarily the one applied: a routine
  // resync right away applies and verifies it (gates stay open through it, as for any resync).
  return changed ? { ...status, stages, runStartedAt: new Date(0).toISOString() } : undefined;
}
