import { describe, expect, it } from "vitest";
import { durationOr, formatDuration, parseDuration } from "../api";
import { markFailed, markReady, markReconciling, setCondition } from "./conditions";

describe("parseDuration", () => {
  it.each([
    { text: "10m", ms: 600_000 },
    { text: "1h30m", ms: 5_400_000 },
    { text: "500ms", ms: 500 },
    { text: "1.5s", ms: 1500 },
    { text: "2h0m3s", ms: 7_203_000 },
    { text: "", ms: undefined },
    { text: "10", ms: undefined },
    { text: "10d", ms: undefined },
    { text: "m10", ms: undefined },
    { text: "10m ", ms: undefined },
  ])("$text", ({ text, ms }) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it("falls back through fields in order", () => {
    expect(durationOr(1, undefined, "bad", "2s")).toBe(2000);
    expect(durationOr(7)).toBe(7);
  });

  it.each([
    { ms: 250, text: "250ms" },
    { ms: 1500, text: "1.5s" },
    { ms: 42_000, text: "42s" },
    { ms: 90_000, text: "1m30s" },
    { ms: 600_000, text: "10m" },
  ])("formats $ms ms as $text", ({ ms, text }) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("conditions", () => {
  const t0 = "2026-01-01T00:00:00Z";
  const t1 = "2026-01-01T00:01:00Z";

  it("moves lastTransitionTime only when the status flips", () => {
    const a = setCondition([], "Ready", "False", "A", "first", 1, t0);
    const b = setCondition(a, "Ready", "False", "B", "second", 2, t1);
    expect(b[0]).toMatchObject({ reason: "B", message: "second", observedGeneration: 2, lastTransitionTime: t0 });
    const c = setCondition(b, "Ready", "True", "C", "third", 2, t1);
    expect(c[0]?.lastTransitionTime).toBe(t1);
  });

  it("trims messages to 32 KiB", () => {
    const [c] = setCondition([], "Ready", "False", "X", "x".repeat(40_000), 1, t0);
    expect(c!.message.length).toBeLessThanOrEqual(32 * 1024);
    expect(c!.message.endsWith("(truncated)")).toBe(true);
  });

  it.each([
    { name: "reconciling", make: () => markReconciling([], "Progressing", "m", 1, t0), types: { Ready: "Unknown", Reconciling: "True" } },
    { name: "ready", make: () => markReady(markReconciling([], "Progressing", "m", 1, t0), "ReconciliationSucceeded", "m", 1, t0), types: { Ready: "True" } },
    { name: "retried failure", make: () => markFailed([], "ApplyFailed", "m", false, 1, t0), types: { Ready: "False", Reconciling: "True" } },
    { name: "terminal failure", make: () => markFailed(markReconciling([], "Progressing", "m", 1, t0), "InvalidSpec", "m", true, 1, t0), types: { Ready: "False", Stalled: "True" } },
  ])("$name keeps Reconciling and Stalled exclusive", ({ make, types }) => {
    const got = Object.fromEntries(make().map(c => [c.type, c.status]));
    expect(got).toEqual(types);
  });
});
