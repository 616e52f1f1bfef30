// Leader election settings from the environment. On by default in a pod of the watcher
// Deployment (in the cluster, in watch mode); off for `pepr dev` and processes outside the
// cluster unless STAGESET_LEADER_ELECTION=true.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { parseDuration } from "../api";
import { defaultTimings, timingProblems, type ElectionConfig } from "./election";

export interface LeaderElection extends ElectionConfig {
  /** Where the Lease lives. */
  namespace: string;
  /** The Lease's name. */
  name: string;
}

export const leaseName = "stageset-controller-leader";
const podNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/** undefined: no election, this process always leads. Throws on a malformed setting. */
export function leaderElectionFromEnv(env: NodeJS.ProcessEnv = process.env): LeaderElection | undefined {
  const flag = env.STAGESET_LEADER_ELECTION;
  if (flag !== undefined && flag !== "" && flag !== "true" && flag !== "false") throw new Error(`STAGESET_LEADER_ELECTION=${JSON.stringify(flag)} must be true or false`);
  const inPod = !!env.KUBERNETES_SERVICE_HOST && env.PEPR_WATCH_MODE === "true";
  if (flag === "false" || (!flag && !inPod)) return undefined;
  const timings = {
    leaseDurationMs: duration(env, "STAGESET_LEASE_DURATION", defaultTimings.leaseDurationMs),
    renewDeadlineMs: duration(env, "STAGESET_LEASE_RENEW_DEADLINE", defaultTimings.renewDeadlineMs),
    retryPeriodMs: duration(env, "STAGESET_LEASE_RETRY_PERIOD", defaultTimings.retryPeriodMs),
  };
  const problems = timingProblems(timings);
  if (problems.length > 0) throw new Error(`leader election: ${problems.join("; ")}`);
  const podNamespace = existsSync(podNamespaceFile) ? readFileSync(podNamespaceFile, "utf8").trim() : "";
  return {
    ...timings,
    namespace: env.STAGESET_LEASE_NAMESPACE || podNamespace || "pepr-system",
    name: leaseName,
    // Unique per process, as client-go's hostname_uuid: a restarted pod of the same name is a new candidate.
    identity: `${env.HOSTNAME || hostname()}_${randomBytes(4).toString("hex")}`,
  };
}

function duration(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (!raw) return fallback;
  const ms = parseDuration(raw);
  if (!ms) throw new Error(`${name}=${JSON.stringify(raw)} is not a duration such as 15s`);
  return ms;
}
