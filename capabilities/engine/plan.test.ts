import { describe, expect, it } from "vitest";
import type { StageSetStatus, StageStatus } from "../api";
import { isStageReady, nextStep, withStage, type PlanInput } from "./plan";

const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const now = Date.parse(t(100));
const pins = { crds: "v1@sha256:a", app: "v1@sha256:b" };
const stage = (name: string, phase: StageStatus["phase"], at = 50, revision = pins[name as keyof typeof pins]): StageStatus => ({
  name,
  phase,
  attemptedRevision: revision,
  appliedRevision: phase === "Ready" ? revision : undefined,
  lastAppliedTime: t(at),
});
const running = (stages: StageStatus[], extra: Partial<StageSetStatus> = {}): StageSetStatus => ({
  runStartedAt: t(40),
  runGeneration: 2,
  observedGeneration: 2,
  lastAttemptedRevisions: pins,
  stages,
  ...extra,
});
const completed = (extra: Partial<StageSetStatus> = {}) =>
  running([stage("crds", "Ready"), stage("app", "Ready")], {
    lastAppliedRevisions: pins,
    conditions: [{ type: "Ready", status: "True", reason: "ReconciliationSucceeded", message: "", lastTransitionTime: t(60) }],
    ...extra,
  });
const input = (status: StageSetStatus, over: Partial<PlanInput> = {}): PlanInput => ({
  generation: 2,
  stageNames: ["crds", "app"],
  status,
  revisions: pins,
  now,
  intervalMs: 600_000,
  ...over,
});

describe("nextStep", () => {
  it.each([
    { name: "first reconcile starts a run", in: input({}), step: { kind: "start-run", why: "first reconcile" } },
    { name: "spec change starts a run", in: input(running([]), { generation: 3 }), step: { kind: "start-run", why: "spec changed (generation 3)" } },
    { name: "new revision starts a run", in: input(running([]), { revisions: { ...pins, app: "v2@sha256:c" } }), step: { kind: "start-run", why: "stage app has revision v2@sha256:c" } },
    { name: "reconcile request starts a run", in: input(completed(), { requestedAt: "now" }), step: { kind: "start-run", why: "reconcile requested at now" } },
    { name: "handled request does not", in: input(completed({ lastHandledReconcileAt: "now" }), { requestedAt: "now" }), step: { kind: "idle", resyncInMs: 540_000 } },
    { name: "fresh run applies the first stage", in: input(running([])), step: { kind: "apply", stage: "crds" } },
    { name: "applied stage is waited on", in: input(running([stage("crds", "Waiting")])), step: { kind: "wait", stage: "crds" } },
    { name: "ready stage hands off to the next", in: input(running([stage("crds", "Ready")])), step: { kind: "apply", stage: "app" } },
    { name: "stage Ready in an earlier run is applied again", in: input(running([stage("crds", "Ready", 10)])), step: { kind: "apply", stage: "crds" } },
    { name: "failed stage is applied again (the engine paces retries)", in: input(running([stage("crds", "Failed")])), step: { kind: "apply", stage: "crds" } },
    { name: "stage waiting on an older pin is applied again", in: input(running([stage("crds", "Waiting", 50, "v0@sha256:z")])), step: { kind: "apply", stage: "crds" } },
    { name: "all stages Ready: finish the run", in: input(running([stage("crds", "Ready"), stage("app", "Ready")])), step: { kind: "finish" } },
    { name: "finished run idles until the resync", in: input(completed()), step: { kind: "idle", resyncInMs: 540_000 } },
    { name: "resync starts a new run", in: input(completed(), { now: Date.parse(t(40)) + 600_000 }), step: { kind: "start-run", why: "periodic resync" } },
    { name: "a removed stage does not block completion", in: input(completed(), { stageNames: ["crds"], revisions: { crds: pins.crds } }), step: { kind: "finish" } },
  ])("$name", ({ in: i, step }) => {
    expect(nextStep(i)).toEqual(step);
  });
});

describe("isStageReady (the gate's definition)", () => {
  it.each([
    { name: "Ready at the pinned revision", status: running([stage("crds", "Ready")]), gen: 2, ready: true },
    { name: "Ready at an older revision while a new one rolls", status: running([stage("crds", "Ready", 50, "v0@sha256:z")]), gen: 2, ready: false },
    { name: "waiting", status: running([stage("crds", "Waiting")]), gen: 2, ready: false },
    { name: "spec changed since the run started", status: running([stage("crds", "Ready")]), gen: 3, ready: false },
    { name: "no status", status: undefined, gen: 2, ready: false },
  ])("$name", ({ status, gen, ready }) => {
    expect(isStageReady(status, gen, "crds")).toBe(ready);
  });
});

it("withStage keeps spec order and replaces by name", () => {
  const s = withStage(running([stage("app", "Waiting")]), ["crds", "app"], stage("crds", "Ready"));
  expect(s.stages?.map(x => `${x.name}:${x.phase}`)).toEqual(["crds:Ready", "app:Waiting"]);
});
