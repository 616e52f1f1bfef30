// Leader election on a coordination.k8s.io Lease, with client-go's rules (leaderelection.go):
// a Lease is held while its holder keeps renewing it; another candidate may take it only after
// it has seen the same record unchanged for the lease duration, by its own clock (clocks of
// different machines are never compared); an empty holder means released, free at once.
// This file decides; lease.ts reads and writes the Lease.

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface ElectionConfig {
  /** This candidate's identity (the pod name). */
  identity: string;
  /** How long a holder's silence lasts before others may take over (client-go: 15 s). */
  leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it gives up leading (client-go: 10 s). */
  renewDeadlineMs: number;
  /** Time between attempts (client-go: 2 s). */
  retryPeriodMs: number;
}

export const defaultTimings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** The record last read, and when (by this candidate's clock) it was first seen as it is. */
export interface Observed {
  spec: LeaseSpec;
  since: number;
}

export type Decision =
  | { kind: "create"; spec: LeaseSpec }
  | { kind: "update"; spec: LeaseSpec }
  | { kind: "held"; holder: string; freeAt: number };

/** Same holder, renewal and transitions: nothing moved since it was observed. */
export function sameRecord(a: LeaseSpec, b: LeaseSpec): boolean {
  return a.holderIdentity === b.holderIdentity && a.renewTime === b.renewTime && a.acquireTime === b.acquireTime && a.leaseTransitions === b.leaseTransitions && a.leaseDurationSeconds === b.leaseDurationSeconds;
}

/** Carries the observation forward: its time moves only when the record changed. */
export function observe(prev: Observed | undefined, current: LeaseSpec, now: number): Observed {
  return prev && sameRecord(prev.spec, current) ? prev : { spec: current, since: now };
}

const iso = (ms: number) => new Date(ms).toISOString().replace("Z", "000Z"); // MicroTime: microseconds

/** What to do on one attempt, given the Lease as read now (undefined: it does not exist). */
export function decide(cfg: ElectionConfig, observed: Observed | undefined, now: number): Decision {
  const durationSeconds = Math.ceil(cfg.leaseDurationMs / 1000);
  if (!observed) return { kind: "create", spec: { holderIdentity: cfg.identity, leaseDurationSeconds: durationSeconds, acquireTime: iso(now), renewTime: iso(now), leaseTransitions: 0 } };
  const cur = observed.spec;
  const holder = cur.holderIdentity ?? "";
  const mine = holder === cfg.identity;
  if (holder && !mine) {
    // The holder's own duration counts, as written in the Lease (it may differ from ours).
    const freeAt = observed.since + (cur.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (now < freeAt) return { kind: "held", holder, freeAt };
  }
  return {
    kind: "update",
    spec: {
      holderIdentity: cfg.identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: mine && cur.acquireTime ? cur.acquireTime : iso(now),
      renewTime: iso(now),
      leaseTransitions: mine ? (cur.leaseTransitions ?? 0) : (cur.leaseTransitions ?? 0) + 1,
    },
  };
}

/** The record a leader writes when it steps down: no holder, so the next candidate need not wait. */
export function released(cur: LeaseSpec, now: number): LeaseSpec {
  return { ...cur, holderIdentity: "", leaseDurationSeconds: 1, renewTime: iso(now), acquireTime: iso(now) };
}

/** Problems with timings that cannot work (client-go refuses the same). */
export function timingProblems(t: Pick<ElectionConfig, "leaseDurationMs" | "renewDeadlineMs" | "retryPeriodMs">): string[] {
  const problems: string[] = [];
  if (!(t.leaseDurationMs > t.renewDeadlineMs)) problems.push(`the lease duration (${t.leaseDurationMs} ms) must be longer than the renew deadline (${t.renewDeadlineMs} ms)`);
  if (!(t.renewDeadlineMs > t.retryPeriodMs * 1.2)) problems.push(`the renew deadline (${t.renewDeadlineMs} ms) must be longer than 1.2 x the retry period (${t.retryPeriodMs} ms)`);
  if (!(t.retryPeriodMs > 0)) problems.push("the retry period must be above zero");
  return problems;
}
