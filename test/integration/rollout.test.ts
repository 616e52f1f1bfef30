// Argo Rollouts on the real control plane, with a Rollout-shaped CRD (argoproj.io/v1alpha1,
// status subresource) and no Argo controller: the test writes status as Argo would. A stage
// holding a Rollout gates the next stage by a CEL expression on status.phase, or, with no
// ready checks at all, by the built-in rule, which reads Argo's string observedGeneration.
import { K8s, kind } from "pepr";
import { beforeAll, describe, expect, it } from "vitest";
import { StageSet, type Stage } from "../../capabilities/api";
import { eventually } from "../harness/cluster";
import { docExample } from "../harness/docs";
import { getRollout as getRolloutIn, installRolloutCRD, setRolloutStatus as setRolloutStatusIn, workload } from "../harness/rollouts";
import { useEngineSuite } from "../harness/suite";

const env = useEngineSuite("rollout");

const rollout = (name: string) => workload("argoproj.io/v1alpha1", "Rollout", name, 1, "  strategy: { canary: { steps: [{ setWeight: 20 }, { pause: {} }] } }\n");
const configMap = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { color: blue }\n`;
// The ready check as docs/progressive-delivery.md documents it.
const phaseExprs = docExample<{ spec: { stages: Stage[] } }>("docs/progressive-delivery.md", "stage-waits-on-rollout").spec.stages[0]!.readyChecks!;

const read = (name: string) => K8s(StageSet).InNamespace(env.ns).Get(name);
const stageOf = (ss: StageSet, name: string) => ss.status?.stages?.find(s => s.name === name);
const readyOf = (ss: StageSet) => ss.status?.conditions?.find(c => c.type === "Ready");
const ready = (ss: StageSet) => ss.status?.conditions?.some(c => c.type === "Ready" && c.status === "True" && c.observedGeneration === ss.metadata?.generation) ?? false;
const getRollout = (name: string) => getRolloutIn(env.ns, name);
const setRolloutStatus = (name: string, status: Record<string, unknown>) => setRolloutStatusIn(env.ns, name, status);

/** A StageSet `<name>`: stage "rollout" (a Rollout `<name>`), then stage "after" (a ConfigMap `<name>-after`). */
async function createRolloutRelease(name: string, readyChecks?: Stage["readyChecks"]): Promise<void> {
  await env.artifacts.publish({ namespace: env.ns, name: `${name}-rollout` }, { files: { "rollout.yaml": rollout(name) } });
  await env.artifacts.publish({ namespace: env.ns, name: `${name}-after` }, { files: { "after.yaml": configMap(`${name}-after`) } });
  await K8s(StageSet).Apply({
    metadata: { name, namespace: env.ns },
    spec: { stages: [{ name: "rollout", sourceRef: { name: `${name}-rollout` }, timeout: "10m", ...(readyChecks ? { readyChecks } : {}) }, { name: "after", sourceRef: { name: `${name}-after` } }] },
  });
}

async function afterStageObject(name: string) {
  try {
    return await K8s(kind.ConfigMap).InNamespace(env.ns).Get(`${name}-after`);
  } catch (err) {
    if ((err as { status?: number }).status === 404) return undefined;
    throw err;
  }
}

/** Stage "rollout" waits with a message matching `message`, and for a while stage "after" is not touched. */
async function expectHeld(name: string, message: RegExp): Promise<void> {
  await eventually(() => read(name), ss => stageOf(ss, "rollout")?.phase === "Waiting" && message.test(stageOf(ss, "rollout")?.message ?? ""), { what: `stage rollout Waiting with ${message}` });
  await new Promise(ok => setTimeout(ok, 1500));
  const ss = await read(name);
  expect({ ready: ready(ss), rolloutReady: stageOf(ss, "rollout")?.phase === "Ready", after: stageOf(ss, "after")?.phase }).toEqual({ ready: false, rolloutReady: false, after: "Pending" });
  expect(await afterStageObject(name)).toBeUndefined();
}

beforeAll(async () => {
  await installRolloutCRD();
});

describe("a Rollout with a CEL ready check on status.phase", () => {
  it("holds the next stage until status.phase is Healthy", async () => {
    const name = "cel-gated";
    await createRolloutRelease(name, phaseExprs);
    // No status yet (Argo has not looked at it): the expression cannot be evaluated, so it waits.
    await expectHeld(name, /Rollout\/cel-gated/);
    await setRolloutStatus(name, { phase: "Progressing" });
    await expectHeld(name, /Rollout\/cel-gated.*current expression is false/);

    await setRolloutStatus(name, { phase: "Healthy" });
    const done = await eventually(() => read(name), ready, { what: "StageSet Ready once the Rollout is Healthy" });
    expect(done.status?.stages?.map(s => [s.name, s.phase])).toEqual([["rollout", "Ready"], ["after", "Ready"]]);
    expect(await afterStageObject(name)).toBeDefined();
  });

  it("fails the stage with HealthCheckFailed as soon as status.phase is Degraded", async () => {
    const name = "cel-degraded";
    await createRolloutRelease(name, phaseExprs);
    await expectHeld(name, /Rollout\/cel-degraded/);

    await setRolloutStatus(name, { phase: "Degraded", message: "ProgressDeadlineExceeded" });
    // The stage timeout is 10m: only the failed expression can end the wait this soon.
    const failed = await eventually(() => read(name), ss => readyOf(ss)?.status === "False", { what: "Ready=False after Degraded", timeoutMs: 10_000 });
    expect(readyOf(failed)).toMatchObject({ reason: "HealthCheckFailed", message: expect.stringMatching(/stage rollout .*Rollout\/cel-degraded.*failed expression is true/) });
    expect(stageOf(failed, "rollout")?.phase).toBe("Failed");
    expect(stageOf(failed, "after")?.phase).toBe("Pending");
    expect(await afterStageObject(name)).toBeUndefined();
  });
});

describe("a Rollout with no ready checks (the built-in rule)", () => {
  it("reads Argo's string observedGeneration: held while Progressing or stale, released when Healthy", async () => {
    const name = "builtin";
    await createRolloutRelease(name);
    await expectHeld(name, /Rollout\/builtin.*status\.phase not set/);
    const generation = (await getRollout(name)).metadata!.generation!;

    await setRolloutStatus(name, { phase: "Progressing", observedGeneration: String(generation) });
    expect((await getRollout(name)).status?.observedGeneration).toBe(String(generation)); // stored as a string, as Argo writes it
    await expectHeld(name, /Rollout\/builtin.*Rollout is Progressing/);
    // Healthy, but for an older generation: that phase describes the old spec.
    await setRolloutStatus(name, { phase: "Healthy", observedGeneration: String(generation - 1) });
    await expectHeld(name, /Rollout\/builtin.*latest observed generation is/);

    await setRolloutStatus(name, { phase: "Healthy", observedGeneration: String(generation) });
    const done = await eventually(() => read(name), ready, { what: "StageSet Ready once the Rollout is Healthy" });
    expect(done.status?.stages?.map(s => [s.name, s.phase])).toEqual([["rollout", "Ready"], ["after", "Ready"]]);
    expect(await afterStageObject(name)).toBeDefined();
  });
});
