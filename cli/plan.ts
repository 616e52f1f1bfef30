// `stageset plan <name>`: what a new run would do, in order, from the spec, the status and
// what each stage's source publishes now: per stage its revision change, pre actions, the
// apply, the wait, post actions, soak and approval; and what would hold the run from starting
// (a freeze, change windows, dependencies by their Ready condition). Pure, given those reads.
import type { PublishedArtifact, Stage, StageSet } from "../capabilities/api";
import { describeState, windowState } from "../capabilities/promotion";
import { paint, shortRevision, type Style } from "./output";

export interface PlanFacts {
  /** What each stage's source publishes now, or why it cannot be read. */
  published: Record<string, PublishedArtifact | { error: string }>;
  /** Each dependency's Ready condition now (`namespace/name` → "True", "False: reason", "not found"). */
  dependencies: Record<string, string>;
  now: number;
}

type Action = { name: string } & Record<string, unknown>;
const verbs = ["http", "job", "wait", "patch", "delete", "apply"];
const actionLine = (hook: string, a: Action) => `${hook.padEnd(8)} ${a.name} (${verbs.find(v => v in a) ?? "?"})`;

export function renderPlan(ss: StageSet, facts: PlanFacts, style: Style): string {
  const ns = ss.metadata?.namespace ?? "";
  const lines = [paint(style, "bold", `Plan for StageSet ${ns}/${ss.metadata?.name} (generation ${ss.metadata?.generation ?? "?"}):`)];
  lines.push(...holds(ss, facts));
  (ss.spec?.stages ?? []).forEach((stage, i) => lines.push(...stageLines(ss, stage, i, facts)));
  lines.push("then     prune what left each stage, last stage first; tear down stages no longer in the spec; Ready");
  return lines.join("\n");
}

function holds(ss: StageSet, facts: PlanFacts): string[] {
  const out: string[] = [];
  const window = windowState(ss.spec?.windows, ss.spec?.freeze, facts.now);
  if (!window.open) out.push(`held     ${describeState(window)}`);
  for (const ref of ss.spec?.dependsOn ?? []) {
    const key = `${ref.namespace || ss.metadata?.namespace}/${ref.name}`;
    out.push(`waits    for ${ref.stage ? `stage ${ref.stage} of ` : ""}StageSet ${key} to be Ready (its Ready condition now: ${facts.dependencies[key] ?? "unknown"})`);
  }
  return out;
}

function stageLines(ss: StageSet, stage: Stage, i: number, facts: PlanFacts): string[] {
  const st = ss.status?.stages?.find(s => s.name === stage.name);
  const now = facts.published[stage.name];
  const applied = st?.appliedRevision;
  let change: string;
  if (!now || "error" in now) change = `source not readable: ${now && "error" in now ? now.error : "unknown"}`;
  else if (applied === now.revision && st?.appliedDigest === now.digest) change = `${shortRevision(applied)} (unchanged: applied again and verified)`;
  else change = `${shortRevision(applied) === "-" ? "(none)" : shortRevision(applied)} → ${shortRevision(now.revision)}`;
  const actions = (stage.actions ?? {}) as Record<string, Action[] | undefined>;
  const out = [`${i + 1}. stage ${stage.name}   ${change}`];
  for (const a of actions.pre ?? []) out.push(`   ${actionLine("pre", a)}`);
  out.push(`   apply    ${stage.sourceRef.kind ?? "ExternalArtifact"} ${stage.sourceRef.namespace ? `${stage.sourceRef.namespace}/` : ""}${stage.sourceRef.name}, path ${stage.path ?? "./"}${stage.prune === false ? " (prune: false)" : ""}`);
  out.push(`   wait     ${stage.readyChecks?.disableWait ? "none (readyChecks.disableWait)" : `until Ready (timeout ${stage.readyChecks?.timeout ?? stage.timeout ?? ss.spec?.timeout ?? "15m"})`}`);
  for (const a of actions.post ?? []) out.push(`   ${actionLine("post", a)}`);
  if (stage.promotion?.soak) out.push(`   soak     ${stage.promotion.soak} Ready before the next stage`);
  if (stage.promotion?.approval === "Required") out.push(`   approve  the next stage waits for an approval of this revision`);
  for (const a of actions.onFailure ?? []) out.push(`   ${actionLine("onFailure", a)} (if the stage fails)`);
  return out;
}
