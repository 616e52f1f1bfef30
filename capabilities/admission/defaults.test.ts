// withActionDefaults row by row. It fills only what the CRD schema cannot default (actions are
// free-form there): sourceRef.apiVersion/kind, path, prune, interval and timeout are the API
// server's, so they are left alone here.
import { describe, expect, it } from "vitest";
import type { StageSet } from "../api";
import { withActionDefaults } from ".";

const of = (stages: unknown[]): StageSet => ({ apiVersion: "stageset.dev/v1alpha1", kind: "StageSet", metadata: { name: "x", namespace: "y" }, spec: { stages } }) as unknown as StageSet;
const stage = (actions?: Record<string, unknown>) => ({ name: "a", sourceRef: { name: "src" }, ...(actions ? { actions } : {}) });
const wait = { name: "w", wait: { duration: "1s" } };

describe("withActionDefaults", () => {
  it.each([
    { name: "no actions", stages: [stage()], filled: undefined },
    { name: "empty hooks", stages: [stage({ pre: [], post: [] })], filled: undefined },
    { name: "both already set (0 retries is a value, not a gap)", stages: [stage({ pre: [{ ...wait, timeout: "30s", retries: 0 }] })], filled: undefined },
    { name: "both missing", stages: [stage({ pre: [wait] })], filled: [stage({ pre: [{ ...wait, timeout: "5m", retries: 0 }] })] },
    { name: "only retries missing", stages: [stage({ post: [{ ...wait, timeout: "1h" }] })], filled: [stage({ post: [{ ...wait, timeout: "1h", retries: 0 }] })] },
    { name: "only timeout missing", stages: [stage({ onFailure: [{ ...wait, retries: 3 }] })], filled: [stage({ onFailure: [{ ...wait, retries: 3, timeout: "5m" }] })] },
    // Malformed entries are validateStageSet's to reject; defaulting leaves them as they are.
    { name: "a hook that is not a list, beside one that is", stages: [stage({ pre: "oops", post: [wait] })], filled: [stage({ pre: "oops", post: [{ ...wait, timeout: "5m", retries: 0 }] })] },
    { name: "an action that is not an object", stages: [stage({ pre: [null, "x", wait] })], filled: [stage({ pre: [null, "x", { ...wait, timeout: "5m", retries: 0 }] })] },
    { name: "only the stage that needs it changes", stages: [stage(), stage({ pre: [wait] })], filled: [stage(), stage({ pre: [{ ...wait, timeout: "5m", retries: 0 }] })] },
  ])("$name", ({ stages, filled }) => {
    const ss = of(stages);
    const before = JSON.stringify(ss);
    expect(withActionDefaults(ss)).toEqual(filled);
    expect(JSON.stringify(ss), "the input is not mutated").toBe(before);
  });

  it("is idempotent: its own output needs nothing more", () => {
    const once = withActionDefaults(of([stage({ pre: [wait], post: [{ ...wait, name: "v" }] })]))!;
    expect(withActionDefaults(of(once))).toBeUndefined();
  });

  it("leaves a StageSet without a spec alone", () => {
    expect(withActionDefaults({ metadata: { name: "x" } } as unknown as StageSet)).toBeUndefined();
  });
});
