// Promotion control in a run: what holds a new run from starting (a freeze, change windows,
// spec.dependsOn), and what
// holds the next stage once a stage is Ready (its soak, then its approval). Each hold says on
// the status what it waits for, saves only when that changed, and tells the queue when to
// look again: a soak at its end, the rest when the event that ends them arrives.
import { isDeepStrictEqual } from "node:util";
import { parseDuration, Reason, type StageSet } from "../api";
import { approvalsAnnotation, describeDependency, describeState, parseApprovals, resolveDependency, windowState } from "../promotion";
import { markReconciling, markWaiting } from "./conditions";
import { stageStatus, type PlanInput } from "./plan";
import type { Outcome } from "./queue";
import { nowISO, save, setStage, stageSpec, type Run } from "./run";
import { recordTransition, type TransitionDetail } from "./notifications";

/** Each stage's promotion, for the plan. */
export function promotionOf(run: Run): NonNullable<PlanInput["promotion"]> {
  return Object.fromEntries(run.stages.map(s => [s.name, { soakMs: s.promotion?.soak ? parseDuration(s.promotion.soak) : undefined, approval: s.promotion?.approval === "Required" }]));
}

/** status.approvals follows the record the admission webhook keeps in the annotation. True when it changed. */
export function syncApprovals(run: Run, ss: StageSet): boolean {
  const approvals = unadmitted(run) ? [] : parseApprovals(ss.metadata?.annotations?.[approvalsAnnotation]);
  if (isDeepStrictEqual(run.status.approvals ?? [], approvals)) return false;
  if (approvals.length > 0) run.status.approvals = approvals;
  else delete run.status.approvals;
  return true;
}

/**
 * A run that would take new content waits while the StageSet is frozen or outside its change
 * windows, and while a dependency is not Ready (by the gate's definition, from the controller's
 * view). Undefined when it may start.
 */
export async function holdStart(run: Run, why: string, intervalMs: number): Promise<Outcome | undefined> {
  const now = run.deps.now();
  const window = windowState(run.ss.spec?.windows, run.ss.spec?.freeze, now);
  if (!window.open) {
    const reason = window.reason === "Frozen" ? Reason.Frozen : window.reason === "OutsideWindow" ? Reason.OutsideWindow : Reason.InvalidSpec;
    await hold(run, reason, `A new run (${why}) waits: ${describeState(window)}`, "waiting");
    // At the opening itself; a freeze (or a window that does not open within a year) waits for a spec change.
    return window.opensAt === undefined ? { kind: "resync", afterMs: intervalMs } : { kind: "requeue", afterMs: Math.max(0, window.opensAt - now) + 10 };
  }
  const waiting = dependenciesNotReady(run);
  if (waiting.length === 0) return undefined;
  const message = `A new run (${why}) waits for ${waiting.join("; ")}`;
  await hold(run, Reason.DependencyNotReady, message, "waiting");
  // An event of the dependency wakes this StageSet (the controller looks for its dependents); the resync is a fallback.
  return { kind: "resync", afterMs: intervalMs };
}

function dependenciesNotReady(run: Run): string[] {
  const check = run.deps.dependencyNotReady;
  const refs = run.ss.spec?.dependsOn ?? [];
  if (refs.length === 0) return [];
  return refs.map(ref => resolveDependency(ref, run.key.namespace)).flatMap(d => {
    // Without the controller's view (a bare engine) nothing can be shown Ready.
    const why = check ? check(d) : "not known to this engine";
    return why === undefined ? [] : [`${describeDependency(d)} (${why})`];
  });
}

/**
 * The stage is Ready and its post actions done: it must stay Ready for promotion.soak. The
 * clock starts now, or again after a degradation (health-sync clears it then).
 */
export async function soakStep(run: Run, stage: string): Promise<Outcome> {
  const st = stageStatus(run.status, stage)!;
  const soak = stageSpec(run, stage).promotion!.soak!;
  const now = run.deps.now();
  if (st.phase !== "Ready") {
    await hold(run, Reason.Soaking, `Stage ${stage} degraded during its soak of ${soak}: the soak starts again once it recovers`);
    return { kind: "resync", afterMs: 10 * 60_000 }; // live health wakes it on recovery
  }
  let endsAt = st.soakEndsAt;
  if (endsAt === undefined) {
    endsAt = new Date(now + parseDuration(soak)!).toISOString();
    setStage(run, { ...st, soakEndsAt: endsAt });
  }
  await hold(run, Reason.Soaking, `Stage ${stage} revision ${st.appliedRevision} soaks until ${endsAt} (promotion.soak ${soak}); the next stage waits`);
  // A little past the end, so the plan sees it ended.
  return { kind: "requeue", afterMs: Math.max(0, Date.parse(endsAt) - now) + 10 };
}

/** The stage waits for an approval of its pinned revision; the annotation's change wakes it. */
export async function approvalStep(run: Run, stage: string, intervalMs: number): Promise<Outcome> {
  const revision = run.status.lastAttemptedRevisions?.[stage];
  const other = run.status.approvals?.find(a => a.stage === stage);
  const note = unadmitted(run)
    ? ` (approvals are not honoured in namespace ${run.key.namespace}: the admission webhook, which checks who approves, does not cover it)`
    : other ? ` (the approval on record, by ${other.approvedBy}, is for revision ${other.revision}${other.revision === revision ? " at another digest, or given while the stage tried another revision" : ""})` : "";
  await hold(run, Reason.ApprovalRequired, `Stage ${stage} revision ${revision} is Ready and waits for approval: kubectl annotate stageset ${run.key.name} -n ${run.key.namespace} stageset.dev/approve=${stage}@${revision} (needs the approve verb on stagesets)${note}`, "in-run", { notify: "ApprovalRequired", stage, revision });
  return { kind: "resync", afterMs: intervalMs };
}

/**
 * Says on the status what the run waits for: in a run, Reconciling with the reason (Ready
 * Unknown); before a run, Ready False too. Saves and records an Event only on a change.
 */
async function hold(run: Run, reason: string, message: string, mode: "in-run" | "waiting" = "in-run", detail: TransitionDetail = {}): Promise<void> {
  const mark = mode === "waiting" ? markWaiting : markReconciling;
  run.status.conditions = mark(run.status.conditions, reason, message, run.generation, nowISO(run));
  if (sameStatus(run.status, run.savedStatus)) return;
  const before = run.savedStatus.conditions?.find(c => c.type === "Reconciling");
  await save(run);
  if (before?.reason !== reason || before.message !== message) await recordTransition(run, "Normal", reason, message, detail);
}

/** A Degraded stage whose soak had not ended starts its soak again once it recovers. */
export function soakInterrupted(soakEndsAt: string | undefined, now: number): boolean {
  return soakEndsAt !== undefined && Date.parse(soakEndsAt) > now;
}

/** Equal as JSON (what the API server would store): key order and undefined fields aside. */
function sameStatus(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));
}

/** Where the webhook does not run, anyone who may edit the StageSet could write the approval record. */
const unadmitted = (run: Run) => run.deps.unadmittedNamespaces?.includes(run.key.namespace) ?? false;
