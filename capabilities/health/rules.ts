// The per-kind health rules, one small function per kind, in one table keyed by
// `group/Kind` (core kinds by `Kind`); the API version is ignored, as in kstatus's
// legacyTypes (cli-utils pkg/kstatus/status/core.go). Messages match upstream.
import { boolField, conditionsOf, conditionWith, intField, isObj, strictList, stringField, type Obj } from "./fields";
import { current, failed, inProgress, unknown, type Health } from "./health";
import { rollout } from "./rollout";
import { daemonSet, deployment, replicaSet, statefulSet } from "./workloads";

export interface RuleContext {
  /** Epoch milliseconds; only the Pod rule needs a clock. */
  now?: number;
}

export type Rule = (o: Obj, ctx: RuleContext) => Health;

const alwaysReady: Rule = () => current("Resource is always ready");

/** Rules that run after kstatus's generic checks (deletion, generation, Reconciling/Stalled). */
export const rules: ReadonlyMap<string, Rule> = new Map(Object.entries({
  ConfigMap: alwaysReady,
  Secret: alwaysReady,
  Pod: pod,
  PersistentVolumeClaim: pvc,
  Service: service,
  "apps/Deployment": deployment,
  "extensions/Deployment": deployment,
  "apps/StatefulSet": statefulSet,
  "apps/DaemonSet": daemonSet,
  "extensions/DaemonSet": daemonSet,
  "apps/ReplicaSet": replicaSet,
  "extensions/ReplicaSet": replicaSet,
  "batch/Job": job,
  "batch/CronJob": alwaysReady,
  "policy/PodDisruptionBudget": () => current("AllowedDisruptions has been computed."),
  "apiextensions.k8s.io/CustomResourceDefinition": crd,
}));

/** Rules that replace the generic checks after deletion, for kinds whose status fields break them. */
export const earlyRules: ReadonlyMap<string, Rule> = new Map(Object.entries({
  "argoproj.io/Rollout": rollout,
}));

// How long a Pod may stay unschedulable before it counts as failed (kstatus ScheduleWindow).
const scheduleWindowMs = 15_000;

function pod(o: Obj, ctx: RuleContext): Health {
  const conditions = conditionsOf(o);
  const phase = stringField(o, "status.phase", "");
  switch (phase) {
    case "Succeeded":
      return current("Pod has completed successfully");
    case "Failed":
      return current("Pod has completed, but not successfully");
    case "Running":
      if (conditionWith(conditions, "Ready", "True")) return current("Pod is Ready");
      return crashLooping(o) ?? inProgress("PodRunningNotReady", "Pod is running but is not Ready");
    case "Pending":
      if (conditionWith(conditions, "PodScheduled", "False")?.reason !== "Unschedulable") {
        return inProgress("PodPending", "Pod is in the Pending phase");
      }
      return withinScheduleWindow(o, ctx)
        ? inProgress("PodNotScheduled", "Pod has not been scheduled")
        : failed("PodUnschedulable", "Pod could not be scheduled");
    case "":
      return inProgress("PodNotObserved", "Pod phase not available");
    default:
      return unknown("UnknownPodPhase", `Pod has unknown status.phase ${JSON.stringify(phase)}`);
  }
}

function crashLooping(o: Obj): Health | undefined {
  const names = strictList(o, "status.containerStatuses")
    .filter(cs => isObj(cs) && stringField(cs, "state.waiting.reason", "") === "CrashLoopBackOff")
    .map(cs => stringField(cs, "name", "?"));
  return names.length ? failed("ContainerCrashLooping", `Containers in CrashLoop state: ${names.join(",")}`) : undefined;
}

// Without a clock or a readable creationTimestamp the Pod is treated as old, which is what
// upstream does with a zero creation time: an unschedulable Pod then fails fast.
function withinScheduleWindow(o: Obj, ctx: RuleContext): boolean {
  const created = Date.parse(stringField(o, "metadata.creationTimestamp", ""));
  return ctx.now !== undefined && !Number.isNaN(created) && ctx.now - scheduleWindowMs < created;
}

// Upstream kstatus calls a running Job Current. A stage that runs a Job (a migration, say)
// must wait for it to finish, so a started Job is InProgress until Complete, as Flux's own
// Job reader does (fluxcd/pkg runtime/statusreaders/job.go). Suspension follows upstream.
function job(o: Obj): Health {
  const completions = intField(o, "spec.completions", intField(o, "spec.parallelism", 1));
  const succeeded = intField(o, "status.succeeded", 0);
  const active = intField(o, "status.active", 0);
  const failedPods = intField(o, "status.failed", 0);
  const suspended = boolField(o, "spec.suspend", false);
  for (const c of conditionsOf(o)) {
    if (c.status !== "True") continue;
    if (c.type === "Complete") return current(`Job Completed. succeeded: ${succeeded}/${completions}`);
    if (c.type === "Failed") return failed("JobFailed", `Job Failed. failed: ${failedPods}/${completions}`);
    if (c.type === "Suspended" && suspended) return current("Job is suspended");
  }
  if (stringField(o, "status.startTime", "") === "") return inProgress("JobNotStarted", "Job not started");
  return inProgress("JobInProgress", `Job in progress. succeeded: ${succeeded}/${completions}, active: ${active}, failed: ${failedPods}`);
}

function pvc(o: Obj): Health {
  const phase = stringField(o, "status.phase", "unknown");
  return phase === "Bound" ? current("PVC is Bound") : inProgress("NotBound", `PVC is not Bound. phase: ${phase}`);
}

// Upstream looks at spec.clusterIP only, not status.loadBalancer.ingress: a LoadBalancer
// Service without an external address is still Current.
function service(o: Obj): Health {
  if (stringField(o, "spec.type", "ClusterIP") === "LoadBalancer" && stringField(o, "spec.clusterIP", "") === "") {
    return inProgress("NoIPAssigned", "ClusterIP not set. Service type: LoadBalancer");
  }
  return current("Service is ready");
}

// kube-apiserver sets Established only once the new kind is served (kubernetes#62725).
function crd(o: Obj): Health {
  for (const c of conditionsOf(o)) {
    const message = c.message || `CustomResourceDefinition condition ${c.type} is False`;
    if (c.type === "NamesAccepted" && c.status === "False") return failed(c.reason || "NamesNotAccepted", message);
    if (c.type !== "Established") continue;
    if (c.status === "False" && c.reason !== "Installing") return failed(c.reason || "NotEstablished", message);
    if (c.status === "True") return current("CRD is established");
  }
  return inProgress("Installing", "Install in progress");
}
