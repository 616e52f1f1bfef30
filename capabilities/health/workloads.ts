// kstatus rules for the apps workloads: Deployment, StatefulSet, DaemonSet, ReplicaSet.
// Ported from cli-utils pkg/kstatus/status/core.go; messages match upstream word for word.
import { conditionsOf, conditionWith, intField, kindOf, stringField, strictInt, type Obj } from "./fields";
import { current, failed, inProgress, type Health } from "./health";

// The deployment controller treats an unset progressDeadlineSeconds as MaxInt32 and then
// never sets Progressing (kubernetes pkg/controller/deployment/util/deployment_util.go).
const maxInt32 = 2 ** 31 - 1;

export function deployment(o: Obj): Health {
  let progressing = intField(o, "spec.progressDeadlineSeconds", maxInt32) === maxInt32;
  let available = false;
  for (const c of conditionsOf(o)) {
    if (c.type === "Progressing" && c.reason === "ProgressDeadlineExceeded") return failed(c.reason, "Progress deadline exceeded");
    if (c.type === "Progressing" && c.status === "True" && c.reason === "NewReplicaSetAvailable") progressing = true;
    if (c.type === "Available" && c.status === "True") available = true;
  }
  const spec = intField(o, "spec.replicas", 1);
  const replicas = intField(o, "status.replicas", 0);
  const updated = intField(o, "status.updatedReplicas", 0);
  const ready = intField(o, "status.readyReplicas", 0);
  const avail = intField(o, "status.availableReplicas", 0);
  if (spec > replicas) return inProgress("LessReplicas", `Replicas: ${replicas}/${spec}`);
  if (spec > updated) return inProgress("LessUpdated", `Updated: ${updated}/${spec}`);
  if (replicas > spec) return inProgress("ExtraPods", `Pending termination: ${replicas - spec}`);
  if (updated > avail) return inProgress("LessAvailable", `Available: ${avail}/${updated}`);
  if (spec > ready) return inProgress("LessReady", `Ready: ${ready}/${spec}`);
  if (!progressing) return inProgress("ReplicaSetNotAvailable", "ReplicaSet not Available");
  if (!available) return inProgress("DeploymentNotAvailable", "Deployment not Available");
  return current(`Deployment is available. Replicas: ${replicas}`);
}

// The StatefulSet controller never sets conditions, so only the counts tell (core.go stsConditions).
export function statefulSet(o: Obj): Health {
  if (stringField(o, "spec.updateStrategy.type", "") === "OnDelete") {
    return current("StatefulSet is using the ondelete update strategy");
  }
  const spec = intField(o, "spec.replicas", 1);
  const replicas = intField(o, "status.replicas", 0);
  const ready = intField(o, "status.readyReplicas", 0);
  const updated = intField(o, "status.updatedReplicas", 0);
  const currentReplicas = intField(o, "status.currentReplicas", 0);
  const partition = intField(o, "spec.updateStrategy.rollingUpdate.partition", -1);
  if (spec > replicas) return inProgress("LessReplicas", `Replicas: ${replicas}/${spec}`);
  if (spec > ready) return inProgress("LessReady", `Ready: ${ready}/${spec}`);
  if (replicas > spec) return inProgress("ExtraPods", `Pending termination: ${replicas - spec}`);
  // https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#partitions
  if (partition !== -1) {
    if (updated < spec - partition) return inProgress("PartitionRollout", `updated: ${updated}/${spec - partition}`);
    return current(`Partition rollout complete. updated: ${updated}`);
  }
  if (spec > currentReplicas) return inProgress("LessCurrent", `current: ${currentReplicas}/${spec}`);
  if (stringField(o, "status.currentRevision", "") !== stringField(o, "status.updateRevision", "")) {
    return inProgress("RevisionMismatch", "Waiting for updated revision to match current");
  }
  return current(`All replicas scheduled as expected. Replicas: ${replicas}`);
}

// The generic check skips objects without observedGeneration; a DaemonSet the controller
// has acted on always has both fields, so their absence means "not seen yet" (checkGenerationSet).
function generationSet(o: Obj): Health | undefined {
  if (strictInt(o, "metadata.generation") === undefined) {
    return inProgress("NoGeneration", `${kindOf(o)} metadata.generation not found`);
  }
  if (strictInt(o, "status.observedGeneration") === undefined) {
    return inProgress("NoObservedGeneration", `${kindOf(o)} status.observedGeneration not found`);
  }
  return undefined;
}

export function daemonSet(o: Obj): Health {
  const unseen = generationSet(o);
  if (unseen) return unseen;
  const desired = intField(o, "status.desiredNumberScheduled", -1);
  if (desired === -1) return inProgress("NoDesiredNumber", "Missing .status.desiredNumberScheduled");
  const scheduled = intField(o, "status.currentNumberScheduled", 0);
  const updated = intField(o, "status.updatedNumberScheduled", 0);
  const available = intField(o, "status.numberAvailable", 0);
  const ready = intField(o, "status.numberReady", 0);
  if (desired > scheduled) return inProgress("LessCurrent", `Current: ${scheduled}/${desired}`);
  if (desired > updated) return inProgress("LessUpdated", `Updated: ${updated}/${desired}`);
  if (desired > available) return inProgress("LessAvailable", `Available: ${available}/${desired}`);
  if (desired > ready) return inProgress("LessReady", `Ready: ${ready}/${desired}`);
  return current(`All replicas scheduled as expected. Replicas: ${desired}`);
}

export function replicaSet(o: Obj): Health {
  if (conditionWith(conditionsOf(o), "ReplicaFailure", "True")) {
    return inProgress("ReplicaFailure", "Replica Failure condition. Check Pods");
  }
  const spec = intField(o, "spec.replicas", 1);
  const replicas = intField(o, "status.replicas", 0);
  const ready = intField(o, "status.readyReplicas", 0);
  const available = intField(o, "status.availableReplicas", 0);
  const labelled = intField(o, "status.fullyLabeledReplicas", 0);
  if (spec > labelled) return inProgress("LessLabelled", `Labelled: ${labelled}/${spec}`);
  if (spec > available) return inProgress("LessAvailable", `Available: ${available}/${spec}`);
  if (spec > ready) return inProgress("LessReady", `Ready: ${ready}/${spec}`);
  if (replicas > spec) return inProgress("ExtraPods", `Pending termination: ${replicas - spec}`);
  return current(`ReplicaSet is available. Replicas: ${replicas}`);
}
