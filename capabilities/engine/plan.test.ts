import { describe, expect, it } from "vitest";
import type { StageSetStatus, StageStatus } from "../api";
import { nextStep, upgradedStatus, withStage, type PlanInput } from "./plan";

const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const now = Date.parse(t(100));
const pins = { crds: "v1@sha256:a", app: "v1@sha256:b" };
const digest = (revision: string) => `sha256:${revision.slice(-1)}`;
const artifacts = { crds: { revision: pins.crds, digest: digest(pins.crds) }, app: { revision: pins.app, digest: digest(pins.app) } };
const stage = (name: string, phase: StageStatus["phase"], at = 50, revision = pins[name as keyof typeof pins]): StageStatus => ({
  name,
  phase,
  attemptedRevision: revision,
  attemptedDigest: digest(revision),
  appliedRevision: phase === "Ready" || phase === "Degraded" ? revision : undefined,
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
  artifacts,
  now,
  intervalMs: 600_000,
  ...over,
});

describe("nextStep", () => {
  it.each([
    { name: "first reconcile starts a run", in: input({}), step: { kind: "start-run", why: "first reconcile", held: true } },
    { name: "spec change starts a run", in: input(running([]), { generation: 3 }), step: { kind: "start-run", why: "spec changed (generation 3)", held: false } },
    { name: "a spec change with a new revision is held", in: input(running([]), { generation: 3, artifacts: { ...artifacts, app: { revision: "v2@sha256:c", digest: "sha256:c" } } }), step: { kind: "start-run", why: "spec changed (generation 3)", held: true } },
    { name: "new revision starts a run", in: input(running([]), { artifacts: { ...artifacts, app: { revision: "v2@sha256:c", digest: "sha256:c" } } }), step: { kind: "start-run", why: "stage app has revision v2@sha256:c", held: true } },
    {
      name: "a republish with the same revision and a new digest starts a run",
      in: input(completed(), { artifacts: { ...artifacts, app: { revision: pins.app, digest: "sha256:new" } } }),
      step: { kind: "start-run", why: "stage app republished v1@sha256:b with digest sha256:new", held: true },
    },
    { name: "a stage that degraded after it passed in this run stays passed", in: input(running([stage("crds", "Degraded")])), step: { kind: "apply", stage: "app" } },
    {
      name: "a finished run that degraded idles (live health reports it; no re-apply)",
      in: input(completed({ conditions: [{ type: "Ready", status: "False", reason: "HealthDegraded", message: "x", lastTransitionTime: t(60) }] })),
      step: { kind: "idle", resyncInMs: 540_000 },
    },
    {
      name: "a finished run that failed later is not finished",
      in: input(completed({ conditions: [{ type: "Ready", status: "False", reason: "ApplyFailed", message: "x", lastTransitionTime: t(60) }] })),
      step: { kind: "finish" },
    },
    { name: "reconcile request starts a run", in: input(completed(), { requestedAt: "now" }), step: { kind: "start-run", why: "reconcile requested at now", held: false } },
    { name: "handled request does not", in: input(completed({ lastHandledReconcileAt: "now" }), { requestedAt: "now" }), step: { kind: "idle", resyncInMs: 540_000 } },
    { name: "fresh run applies the first stage", in: input(running([])), step: { kind: "apply", stage: "crds" } },
    { name: "applied stage is waited on", in: input(running([stage("crds", "Waiting")])), step: { kind: "wait", stage: "crds" } },
    { name: "ready stage hands off to the next", in: input(running([stage("crds", "Ready")])), step: { kind: "apply", stage: "app" } },
    { name: "stage Ready in an earlier run is applied again", in: input(running([stage("crds", "Ready", 10)])), step: { kind: "apply", stage: "crds" } },
    { name: "failed stage is applied again (the engine paces retries)", in: input(running([stage("crds", "Failed")])), step: { kind: "apply", stage: "crds" } },
    { name: "stage waiting on an older pin is applied again", in: input(running([stage("crds", "Waiting", 50, "v0@sha256:z")])), step: { kind: "apply", stage: "crds" } },
    { name: "all stages Ready: finish the run", in: input(running([stage("crds", "Ready"), stage("app", "Ready")])), step: { kind: "finish" } },
    { name: "finished run idles until the resync", in: input(completed()), step: { kind: "idle", resyncInMs: 540_000 } },
    { name: "resync starts a new run", in: input(completed(), { now: Date.parse(t(40)) + 600_000 }), step: { kind: "start-run", why: "periodic resync", held: false } },
    // Promotion: after post actions, the soak, then the approval, of the stage's pinned revision.
    { name: "a soak not started holds the next stage", in: input(running([stage("crds", "Ready"), stage("app", "Pending")]), { promotion: { crds: { soakMs: 5_000 } } }), step: { kind: "soak", stage: "crds" } },
    { name: "a soak under way holds the next stage", in: input(running([{ ...stage("crds", "Ready"), soakEndsAt: t(101) }]), { promotion: { crds: { soakMs: 5_000 } } }), step: { kind: "soak", stage: "crds" } },
    { name: "a stage degraded during its soak holds the next stage", in: input(running([stage("crds", "Degraded")]), { promotion: { crds: { soakMs: 5_000 } } }), step: { kind: "soak", stage: "crds" } },
    { name: "a stage degraded after its soak ended stays passed", in: input(running([{ ...stage("crds", "Degraded"), soakEndsAt: t(90) }]), { promotion: { crds: { soakMs: 5_000 } } }), step: { kind: "apply", stage: "app" } },
    { name: "a soak that ended lets the next stage apply", in: input(running([{ ...stage("crds", "Ready"), soakEndsAt: t(100) }]), { promotion: { crds: { soakMs: 5_000 } } }), step: { kind: "apply", stage: "app" } },
    { name: "the last stage's soak holds the finish", in: input(running([stage("crds", "Ready"), stage("app", "Ready")]), { promotion: { app: { soakMs: 5_000 } } }), step: { kind: "soak", stage: "app" } },
    { name: "post actions come before the soak", in: input(running([stage("crds", "Ready")]), { promotion: { crds: { soakMs: 5_000 } }, hooks: { crds: { post: ["smoke"] } } }), step: { kind: "action", stage: "crds", hook: "post" } },
    { name: "an approval required holds the next stage", in: input(running([stage("crds", "Ready")]), { promotion: { crds: { approval: true } } }), step: { kind: "approval", stage: "crds" } },
    { name: "an approval of another revision does nothing", in: input(running([stage("crds", "Ready")]), { promotion: { crds: { approval: true } }, approvals: [{ stage: "crds", revision: "v0@sha256:z", approvedBy: "a", approvedAt: t(1) }] }), step: { kind: "approval", stage: "crds" } },
    { name: "an approval of the pinned revision lets the next stage apply", in: input(running([stage("crds", "Ready")]), { promotion: { crds: { approval: true } }, approvals: [{ stage: "crds", revision: pins.crds, digest: "sha256:a", approvedBy: "a", approvedAt: t(1) }] }), step: { kind: "apply", stage: "app" } },
    { name: "an approval of the pinned revision at another digest (a republish) does nothing", in: input(running([stage("crds", "Ready")]), { promotion: { crds: { approval: true } }, approvals: [{ stage: "crds", revision: pins.crds, digest: "sha256:old", approvedBy: "a", approvedAt: t(1) }] }), step: { kind: "approval", stage: "crds" } },
    { name: "the soak comes before the approval", in: input(running([stage("crds", "Ready")]), { promotion: { crds: { approval: true, soakMs: 1 } }, approvals: [{ stage: "crds", revision: pins.crds, digest: "sha256:a", approvedBy: "a", approvedAt: t(1) }] }), step: { kind: "soak", stage: "crds" } },
    { name: "a removed stage does not block completion", in: input(completed(), { stageNames: ["crds"], artifacts: { crds: artifacts.crds } }), step: { kind: "finish" } },
  ])("$name", ({ in: i, step }) => {
    expect(nextStep(i)).toEqual(step);
  });
});

it("withStage keeps spec order and replaces by name", () => {
  const s = withStage(running([stage("app", "Waiting")]), ["crds", "app"], stage("crds", "Ready"));
  expect(s.stages?.map(x => `${x.name}:${x.phase}`)).toEqual(["crds:Ready", "app:Waiting"]);
});

describe("upgradedStatus (statuses written before verification records)", () => {
  const legacy = (over: Partial<StageStatus> = {}) => completed({ stages: [{ ...stage("crds", "Ready"), attemptedDigest: undefined, ...over }, { ...stage("app", "Ready"), attemptedDigest: undefined }] });
  it("takes a finished run's Ready stages at the published artifact as verified", () => {
    const up = upgradedStatus(legacy(), 2, artifacts);
    expect(up?.stages?.map(s => [s.name, s.verifiedGeneration, s.appliedDigest, s.attemptedDigest])).toEqual([
      ["crds", 2, "sha256:a", "sha256:a"],
      ["app", 2, "sha256:b", "sha256:b"],
    ]);
    expect(nextStep(input(up!))).toEqual({ kind: "start-run", why: "periodic resync", held: false });
  });
  it("leaves a stage whose source moved on unverified (a new run follows)", () => {
    const up = upgradedStatus(legacy(), 2, { ...artifacts, crds: { revision: "v9@sha256:z", digest: "sha256:z" } });
    expect(up?.stages?.map(s => [s.name, s.verifiedGeneration])).toEqual([
      ["crds", undefined],
      ["app", 2],
    ]);
  });
  it.each([
    { name: "a spec changed since", status: legacy(), generation: 3 },
    { name: "already recorded", status: completed({ stages: [{ ...stage("crds", "Ready"), verifiedGeneration: 2 }] }), generation: 2 },
    { name: "a run in progress", status: running([{ ...stage("crds", "Ready"), attemptedDigest: undefined }]), generation: 2 },
  ])("leaves it alone when $name", ({ status, generation }) => {
    expect(upgradedStatus(status, generation, artifacts)).toBeUndefined();
  });
});
