import { describe, expect, it } from "vitest";
import { decide, defaultTimings, observe, released, timingProblems, type LeaseSpec, type Observed } from "./election";

const cfg = { identity: "me", ...defaultTimings };
const t0 = Date.parse("2026-12-02T00:00:00Z");
const theirs: LeaseSpec = { holderIdentity: "other", leaseDurationSeconds: 15, acquireTime: "a", renewTime: "r1", leaseTransitions: 3 };
const mine: LeaseSpec = { ...theirs, holderIdentity: "me" };

describe("decide", () => {
  const cases: { name: string; observed?: Observed; now: number; want: Record<string, unknown> }[] = [
    { name: "no Lease yet: create it, holding it", now: t0, want: { kind: "create", spec: { holderIdentity: "me", leaseTransitions: 0, leaseDurationSeconds: 15 } } },
    { name: "another holder, seen 14.9 s ago: held", observed: { spec: theirs, since: t0 }, now: t0 + 14_900, want: { kind: "held", holder: "other", freeAt: t0 + 15_000 } },
    { name: "another holder, unchanged for 15 s: take it, one more transition", observed: { spec: theirs, since: t0 }, now: t0 + 15_000, want: { kind: "update", spec: { holderIdentity: "me", leaseTransitions: 4 } } },
    { name: "the holder's own duration counts (60 s), not ours", observed: { spec: { ...theirs, leaseDurationSeconds: 60 }, since: t0 }, now: t0 + 30_000, want: { kind: "held", freeAt: t0 + 60_000 } },
    { name: "released (no holder): take it at once", observed: { spec: { ...theirs, holderIdentity: "" }, since: t0 }, now: t0 + 1, want: { kind: "update", spec: { holderIdentity: "me", leaseTransitions: 4 } } },
    { name: "ours: renew, keeping acquireTime and transitions", observed: { spec: mine, since: t0 }, now: t0 + 2_000, want: { kind: "update", spec: { holderIdentity: "me", acquireTime: "a", leaseTransitions: 3 } } },
  ];
  for (const c of cases) it(c.name, () => expect(decide(cfg, c.observed, c.now)).toMatchObject(c.want));

  it("writes MicroTime (microseconds) for renewTime", () => {
    const d = decide(cfg, undefined, t0);
    expect(d.kind === "create" && d.spec.renewTime).toBe("2026-12-02T00:00:00.000000Z");
  });
});

describe("observe", () => {
  it("keeps the first sighting while the record is unchanged, and restarts it when the holder renews", () => {
    const first = observe(undefined, theirs, t0);
    expect(observe(first, { ...theirs }, t0 + 10_000).since).toBe(t0);
    expect(observe(first, { ...theirs, renewTime: "r2" }, t0 + 10_000).since).toBe(t0 + 10_000);
  });

  it("a holder that renews every 2 s is never taken over", () => {
    let seen: Observed | undefined;
    for (let s = 0; s <= 60; s += 2) {
      seen = observe(seen, { ...theirs, renewTime: `r${s}` }, t0 + s * 1000);
      expect(decide(cfg, seen, t0 + s * 1000 + 1_999).kind).toBe("held");
    }
  });
});

describe("released", () => {
  it("names no holder and a 1 s lease", () => {
    expect(released(mine, t0)).toMatchObject({ holderIdentity: "", leaseDurationSeconds: 1, leaseTransitions: 3 });
  });
});

describe("timingProblems", () => {
  const cases = [
    { t: defaultTimings, problems: 0 },
    { t: { leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }, problems: 1 },
    { t: { leaseDurationMs: 15_000, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }, problems: 1 },
    { t: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 0 }, problems: 1 },
  ];
  for (const c of cases) it(`${JSON.stringify(c.t)}: ${c.problems} problem(s)`, () => expect(timingProblems(c.t)).toHaveLength(c.problems));
});
