// Every problem in a StageSet's spec, each with its field path: what the admission webhook
// rejects at `kubectl apply` time, and what reconcile stalls on (InvalidSpec) if one slipped
// past the webhook (it was down, or the object predates it). Pure.
import { formatSpecError, validateActions } from "../actions";
import { parseDuration, StageSetError, type HealthExpr, type NotifyTargetSpec, type StageSet } from "../api";
import { compileExprs } from "../health";
import { windowProblems } from "../promotion";

export interface SpecProblem {
  path: string;
  message: string;
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function validateStageSet(ss: StageSet): SpecProblem[] {
  const spec = ss.spec;
  const problems: SpecProblem[] = [];
  if (!spec?.stages?.length) return [{ path: "spec.stages", message: "at least one stage is required" }];
  for (const [field, value] of [["interval", spec.interval], ["retryInterval", spec.retryInterval], ["timeout", spec.timeout]] as const) problems.push(...duration(`spec.${field}`, value));
  const seen = new Map<string, number>();
  spec.stages.forEach((stage, i) => {
    const at = `spec.stages[${i}]`;
    if (!dnsLabel.test(stage.name ?? "") || stage.name.length > 63) problems.push({ path: `${at}.name`, message: `${JSON.stringify(stage.name ?? "")} is not a DNS label (lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit)` });
    const first = seen.get(stage.name);
    if (first !== undefined) problems.push({ path: `${at}.name`, message: `"${stage.name}" is also the name of spec.stages[${first}]; stage names must be unique` });
    else seen.set(stage.name, i);
    problems.push(...duration(`${at}.timeout`, stage.timeout), ...duration(`${at}.readyChecks.timeout`, stage.readyChecks?.timeout));
    problems.push(...celProblems(`${at}.readyChecks`, stage.readyChecks?.exprs));
    problems.push(...validateActions(stage.name, stage.actions, `${at}.actions`).map(e => ({ path: e.path, message: formatSpecError(e).slice(e.path.length + 2) })));
    problems.push(...duration(`${at}.promotion.soak`, stage.promotion?.soak));
  });
  problems.push(...dependencyProblems(ss), ...windowProblems(spec.windows, spec.freeze), ...notifyProblems(spec.notify));
  return problems;
}

/** spec.dependsOn: no StageSet twice, not itself (longer cycles need the other StageSets: admission checks them). */
function dependencyProblems(ss: StageSet): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const self = `${ss.metadata?.namespace}/${ss.metadata?.name}`;
  const seen = new Map<string, number>();
  (ss.spec?.dependsOn ?? []).forEach((ref, i) => {
    const at = `spec.dependsOn[${i}]`;
    const key = `${ref.namespace || ss.metadata?.namespace}/${ref.name}`;
    const whole = `${key}/${ref.stage ?? ""}`;
    if (ref.stage !== undefined && !dnsLabel.test(ref.stage)) problems.push({ path: `${at}.stage`, message: `${JSON.stringify(ref.stage)} is not a stage name (a DNS label)` });
    if (key === self) problems.push({ path: at, message: `StageSet ${self} cannot depend on itself` });
    const first = seen.get(whole);
    if (first !== undefined) problems.push({ path: at, message: `the same dependency as spec.dependsOn[${first}]` });
    else seen.set(whole, i);
  });
  return problems;
}

function duration(path: string, value: string | undefined): SpecProblem[] {
  if (value === undefined) return [];
  const ms = parseDuration(value);
  if (ms === undefined) return [{ path, message: `${JSON.stringify(value)} is not a duration (like 90s, 10m or 1h30m)` }];
  return ms > 0 ? [] : [{ path, message: `${JSON.stringify(value)} must be longer than zero` }];
}

/** Compiles the stage's CEL checks as the engine will: syntax, bool result, safe regexes. */
function celProblems(path: string, exprs: HealthExpr[] | undefined): SpecProblem[] {
  if (!exprs?.length) return [];
  try {
    compileExprs(exprs);
    return [];
  } catch (err) {
    if (!(err instanceof StageSetError)) throw err;
    // The message starts with `readyChecks.exprs[i] (...) field: `; its first line is enough here.
    const [, rest = err.message] = /^readyChecks\.(.*)$/s.exec(err.message) ?? [];
    return [{ path: `${path}.${rest.split(" ")[0]}`, message: rest.slice(rest.indexOf(" ") + 1).split("\n")[0]! }];
  }
}

/** The admission answer: all problems on one line, each starting with its field path. */
export function describeProblems(problems: SpecProblem[]): string {
  return problems.map(p => `${p.path}: ${p.message}`).join("; ");
}

/** spec.notify: a URL in the spec must be http(s) without credentials (a URL holding a token belongs in a Secret). */
function notifyProblems(targets: NotifyTargetSpec[] | undefined): SpecProblem[] {
  return (targets ?? []).flatMap((t, i) => {
    if (t.url === undefined) return [];
    const path = `spec.notify[${i}].url`;
    let url: URL;
    try {
      url = new URL(t.url);
    } catch {
      return [{ path, message: `${JSON.stringify(t.url)} is not a valid URL` }];
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return [{ path, message: `scheme ${url.protocol.slice(0, -1)} is not supported (only http and https)` }];
    if (url.username || url.password) return [{ path, message: "must not hold credentials: put a URL with a token in a Secret and use secretRef" }];
    return [];
  });
}
