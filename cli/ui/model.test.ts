import { describe, expect, it } from "vitest";
import type { StageSet, StageSetStatus } from "../../capabilities/api";
import { messageCap, viewOf } from "./model";

const ss = (status: StageSetStatus, extra: Partial<StageSet["spec"]> = {}): StageSet =>
  ({ metadata: { namespace: "shop", name: "web", generation: 2 }, spec: { stages: [{ name: "db", sourceRef: { name: "db" } }, { name: "app", sourceRef: { name: "app" } }], ...extra }, status }) as StageSet;
const ready = (status: "True" | "False", reason: string, message = "") => ({ type: "Ready", status, reason, message, lastTransitionTime: "2026-12-01T10:00:00Z" });

describe("viewOf: what the browser view shows of a StageSet", () => {
  it.each([
    ["no status yet: every stage Pending, no failure", {}, undefined],
    ["a failed stage: the Ready reason and the stage's message, the stage named once", { conditions: [ready("False", "ApplyFailed")], stages: [{ name: "app", phase: "Failed", message: "stage app: apply failed" }] }, { reason: "ApplyFailed", message: "stage app: apply failed" }],
    ["a degraded stage without a failing reason: its phase is the reason", { conditions: [ready("True", "ReconciliationSucceeded")], stages: [{ name: "db", phase: "Degraded", message: "Deployment shop/db: 0/2 available" }] }, { reason: "Degraded", message: "stage db: Deployment shop/db: 0/2 available" }],
    ["a failure before any stage (Stalled)", { conditions: [ready("False", "InvalidSpec", "x"), { type: "Stalled", status: "True", reason: "InvalidSpec", message: "spec.stages[1].path: escapes" }] }, { reason: "InvalidSpec", message: "spec.stages[1].path: escapes" }],
    ["a retried failure before any stage (Ready=False, not Stalled)", { conditions: [ready("False", "SourceNotReady", "ExternalArtifact shop/db not found")] }, { reason: "SourceNotReady", message: "ExternalArtifact shop/db not found" }],
    ["waiting for an approval is no failure", { conditions: [ready("False", "ApprovalRequired", "approve with ...")] }, undefined],
    ["waiting for a window is no failure", { conditions: [ready("False", "OutsideWindow", "opens at ...")] }, undefined],
    ["a failed action of the revision being tried", { conditions: [ready("False", "Progressing")], stages: [{ name: "db", phase: "Ready", attemptedRevision: "v2" }], actions: [{ stage: "db", hook: "post", name: "smoke", revision: "v2", phase: "Failed", attempts: 3, startedAt: "t", finishedAt: "2026-12-01T10:01:00Z", message: "503" }] }, { reason: "ActionFailed", message: "action db/post/smoke: 503" }],
    ["a failed action of an older revision is history", { conditions: [ready("False", "Progressing")], stages: [{ name: "db", phase: "Ready", attemptedRevision: "v3" }], actions: [{ stage: "db", hook: "post", name: "smoke", revision: "v2", phase: "Failed", attempts: 3, startedAt: "t", message: "503" }] }, undefined],
  ] as [string, StageSetStatus, { reason: string; message: string } | undefined][])("%s", (_name, status, failure) => {
    const v = viewOf(ss(status));
    expect(v.key).toBe("shop/web");
    expect(v.stages.map(s => s.name)).toEqual(["db", "app"]);
    if (failure) expect(v.failure).toMatchObject(failure);
    else expect(v.failure).toBeUndefined();
  });

  it("counts the action ledger and cuts long messages to a bound", () => {
    const long = "x".repeat(5000);
    const v = viewOf(
      ss({
        conditions: [ready("False", "HealthCheckFailed", long)],
        stages: [{ name: "db", phase: "Failed", message: long, lastTransitionTime: "2026-12-01T10:00:00Z" }],
        actions: [
          { stage: "db", hook: "pre", name: "a", revision: "v1", phase: "Succeeded", attempts: 1, startedAt: "t" },
          { stage: "db", hook: "pre", name: "b", revision: "v1", phase: "Running", attempts: 1, startedAt: "t" },
          { stage: "db", hook: "post", name: "c", revision: "v1", phase: "Failed", attempts: 2, startedAt: "t" },
        ],
      }),
    );
    expect(v.actions).toEqual({ succeeded: 1, running: 1, failed: 1 });
    expect(v.message.length).toBe(messageCap);
    expect(v.stages[0]!.message!.length).toBe(messageCap);
    expect(v.failure!.message.length).toBe(messageCap);
    expect(v.failure!.at).toBe("2026-12-01T10:00:00Z");
  });

  it("says suspended and being deleted", () => {
    const v = viewOf({ ...ss({}, { suspend: true }), metadata: { namespace: "shop", name: "web", deletionTimestamp: new Date("2026-12-01T10:00:00Z") } } as StageSet);
    expect([v.suspended, v.deleting]).toEqual([true, true]);
  });
});
