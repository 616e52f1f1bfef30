// What the browser view shows of a StageSet, built from the object alone. Pure. Free text a
// tenant writes or a failure carries (messages) is cut to a bound here, so one StageSet cannot
// make every page load heavy; the StageSet's own page shows it whole.
import { Reason, type ActionRecord, type StageSet } from "../../capabilities/api";
import { summarize } from "../get";
import { shortRevision } from "../output";

/** A stage in the overview: kept small, since a page gets a thousand StageSets of them at once (its own page has the rest). */
export interface StageView {
  name: string;
  phase: string;
  /** The revision last tried, its digest cut to 12 hex digits. */
  revision: string;
  /** When the stage entered its phase. */
  since?: string;
  soakEndsAt?: string;
  /** Only when the stage is not Ready: what it waits for or why it failed. */
  message?: string;
  /** The gate's answer for the stage (200 open, 403 closed); absent when not asked yet or the gate did not answer. */
  gate?: number;
}

export interface ActionTally {
  succeeded: number;
  failed: number;
  running: number;
}

export interface StageSetView {
  /** namespace/name */
  key: string;
  namespace: string;
  name: string;
  generation: number;
  ready: string;
  reason: string;
  message: string;
  suspended: boolean;
  deleting: boolean;
  runStartedAt?: string;
  currentStage?: string;
  stages: StageView[];
  actions: ActionTally;
  /** The failure to read first: a failed or degraded stage's message, else a Stalled condition, else a failed action. */
  failure?: { reason: string; message: string; at?: string };
}

/** Longest message carried in the overview. */
export const messageCap = 300;

const cut = (text: string | undefined) => (text && text.length > messageCap ? `${text.slice(0, messageCap - 1)}…` : (text ?? ""));

/** The view with the gate's answers for its stages. */
export function withGate(view: StageSetView, answer: (stage: string) => number | undefined): StageSetView {
  return { ...view, stages: view.stages.map(st => ({ ...st, ...(answer(st.name) !== undefined ? { gate: answer(st.name) } : {}) })) };
}

export function viewOf(ss: StageSet): StageSetView {
  const s = summarize(ss);
  const status = new Map((ss.status?.stages ?? []).map(st => [st.name, st]));
  const ledger = ss.status?.actions ?? [];
  return {
    key: `${s.namespace}/${s.name}`,
    namespace: s.namespace,
    name: s.name,
    generation: ss.metadata?.generation ?? 0,
    ready: s.ready,
    reason: s.reason,
    message: cut(s.message),
    suspended: ss.spec?.suspend === true,
    deleting: Boolean(ss.metadata?.deletionTimestamp),
    ...(ss.status?.runStartedAt ? { runStartedAt: ss.status.runStartedAt } : {}),
    ...(ss.status?.currentStage ? { currentStage: ss.status.currentStage } : {}),
    stages: s.stages.map(st => {
      const full = status.get(st.name);
      return {
        name: st.name,
        phase: st.phase,
        revision: st.revision ? shortRevision(st.revision) : "",
        ...(st.since ? { since: st.since } : {}),
        ...(full?.soakEndsAt ? { soakEndsAt: full.soakEndsAt } : {}),
        ...(full?.message && st.phase !== "Ready" ? { message: cut(full.message) } : {}),
      };
    }),
    actions: tally(ledger),
    ...failureOf(ss, ledger),
  };
}

function tally(ledger: ActionRecord[]): ActionTally {
  const t = { succeeded: 0, failed: 0, running: 0 };
  for (const a of ledger) {
    if (a.phase === "Succeeded") t.succeeded++;
    else if (a.phase === "Failed") t.failed++;
    else t.running++;
  }
  return t;
}

/** The stage named once: the engine's messages often start with it already. */
const stageMessage = (name: string, message: string) => (message.startsWith(`stage ${name}`) ? message : `stage ${name}: ${message}`);

/** Reasons a release waits for, not failures. */
const waiting = new Set<string>([Reason.Progressing, Reason.ProgressingWithRetry, Reason.Suspended, Reason.DependencyNotReady, Reason.OutsideWindow, Reason.Frozen, Reason.Soaking, Reason.ApprovalRequired, Reason.Succeeded]);

function failureOf(ss: StageSet, ledger: ActionRecord[]): Pick<StageSetView, "failure"> {
  const ready = ss.status?.conditions?.find(c => c.type === "Ready");
  const failing = ready?.status === "False" && !waiting.has(ready.reason ?? "") ? ready : undefined;
  const stage = (ss.status?.stages ?? []).find(st => st.phase === "Failed" || st.phase === "Degraded");
  const at = (t: string | undefined) => (t ? { at: t } : {});
  if (stage) return { failure: { reason: failing?.reason ?? stage.phase, message: cut(stageMessage(stage.name, stage.message ?? stage.phase)), ...at(stage.lastTransitionTime) } };
  // A failure before any stage was tried (a fetch, a parse, the spec itself) is on the conditions.
  const stalled = ss.status?.conditions?.find(c => c.type === "Stalled" && c.status === "True") ?? failing;
  if (stalled) return { failure: { reason: stalled.reason ?? "Stalled", message: cut(stalled.message), ...at(stalled.lastTransitionTime) } };
  // A failed action of an older revision is history (the ledger keeps it), not today's failure.
  const attempted = new Map((ss.status?.stages ?? []).map(st => [st.name, st.attemptedRevision]));
  const action = ready?.status === "True" ? undefined : [...ledger].reverse().find(a => a.phase === "Failed" && attempted.get(a.stage) === a.revision);
  if (action) return { failure: { reason: Reason.ActionFailed, message: cut(`action ${action.stage}/${action.hook}/${action.name}: ${action.message ?? "failed"}`), ...at(action.finishedAt) } };
  return {};
}
