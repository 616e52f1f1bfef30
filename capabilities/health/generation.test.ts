import { describe, expect, it } from "vitest";
import { applySnapshot, needsApplySnapshot, statusUnchangedSinceApply } from "./generation";

const rollout = (generation: number, status: Record<string, unknown>) => ({ apiVersion: "argoproj.io/v1alpha1", kind: "Rollout", metadata: { name: "web", generation }, status });
const applied = rollout(3, { observedGeneration: "5d8f7c9b", phase: "Healthy" });

describe("a status that cannot say which generation it describes", () => {
  it.each([
    { name: "a hash-style observedGeneration", o: applied, needs: true },
    { name: "a numeric string (compared as a number instead)", o: rollout(3, { observedGeneration: "3" }), needs: false },
    { name: "a number", o: rollout(3, { observedGeneration: 3 }), needs: false },
    { name: "no observedGeneration (a ConfigMap, say)", o: { kind: "ConfigMap", metadata: { name: "c", generation: 1 } }, needs: false },
  ])("needs a snapshot: $name → $needs", ({ o, needs }) => {
    expect(needsApplySnapshot(o)).toBe(needs);
  });

  it.each([
    { name: "status exactly as our apply returned it: not observed", o: applied, stale: true },
    { name: "its controller rewrote the status (new hash)", o: rollout(3, { observedGeneration: "77aa11", phase: "Healthy" }), stale: false },
    { name: "its controller changed only the phase", o: rollout(3, { observedGeneration: "5d8f7c9b", phase: "Progressing" }), stale: false },
    { name: "a later generation than the snapshot's", o: rollout(4, { observedGeneration: "5d8f7c9b", phase: "Healthy" }), stale: false },
  ])("$name", ({ o, stale }) => {
    const h = statusUnchangedSinceApply(o, applySnapshot(applied));
    expect(h?.status).toBe(stale ? "InProgress" : undefined);
    if (stale) expect(h).toMatchObject({ reason: "LatestGenerationNotObserved", message: expect.stringContaining("generation 3") });
  });

  it("no snapshot: nothing to say", () => {
    expect(statusUnchangedSinceApply(applied, undefined)).toBeUndefined();
  });
});
