import { describe, expect, it } from "vitest";
import { leaderElectionFromEnv } from "./config";

const inPod = { KUBERNETES_SERVICE_HOST: "198.19.0.1", PEPR_WATCH_MODE: "true", HOSTNAME: "watcher-abc" };

describe("leaderElectionFromEnv", () => {
  const cases: { name: string; env: Record<string, string>; want: "off" | Record<string, unknown> | RegExp }[] = [
    { name: "outside a pod: off", env: { PEPR_WATCH_MODE: "true" }, want: "off" },
    { name: "pepr dev in a pod's shell (not watch mode): off", env: { KUBERNETES_SERVICE_HOST: "x", PEPR_MODE: "dev" }, want: "off" },
    { name: "the watcher pod: on, client-go's timings", env: inPod, want: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, name: "stageset-controller-leader" } },
    { name: "turned off in the pod", env: { ...inPod, STAGESET_LEADER_ELECTION: "false" }, want: "off" },
    { name: "turned on outside a pod, in the namespace given", env: { STAGESET_LEADER_ELECTION: "true", STAGESET_LEASE_NAMESPACE: "team-a" }, want: { namespace: "team-a" } },
    { name: "timings from the environment", env: { ...inPod, STAGESET_LEASE_DURATION: "30s", STAGESET_LEASE_RENEW_DEADLINE: "20s", STAGESET_LEASE_RETRY_PERIOD: "5s" }, want: { leaseDurationMs: 30_000, renewDeadlineMs: 20_000, retryPeriodMs: 5_000 } },
    { name: "a renew deadline not under the lease: refused", env: { ...inPod, STAGESET_LEASE_RENEW_DEADLINE: "15s" }, want: /must be longer than the renew deadline/ },
    { name: "not a duration: refused, naming the variable", env: { ...inPod, STAGESET_LEASE_DURATION: "fifteen" }, want: /STAGESET_LEASE_DURATION="fifteen" is not a duration/ },
    { name: "not a boolean: refused", env: { STAGESET_LEADER_ELECTION: "yes" }, want: /STAGESET_LEADER_ELECTION="yes" must be true or false/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      if (c.want instanceof RegExp) return void expect(() => leaderElectionFromEnv(c.env)).toThrow(c.want);
      const got = leaderElectionFromEnv(c.env);
      if (c.want === "off") return void expect(got).toBeUndefined();
      expect(got).toMatchObject(c.want);
    });
  }

  it("names each process apart: the pod name and a random suffix", () => {
    const [a, b] = [leaderElectionFromEnv(inPod)!, leaderElectionFromEnv(inPod)!];
    expect(a.identity).toMatch(/^watcher-abc_[0-9a-f]{8}$/);
    expect(a.identity).not.toBe(b.identity);
  });
});
