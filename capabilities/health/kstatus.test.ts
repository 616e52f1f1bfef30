// kstatus rules, one table per rule. Rows marked "vector N" are the test vectors of
// research/contracts.md §3.4; their messages are upstream's, word for word.
import { describe, expect, it } from "vitest";
import { aggregate, compute, kstatusView, type ObjectStatus } from "./index";
import { checkRow as check, type Row } from "./testdata/rows";

const cr = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, generation: 1}\n";

describe("generic checks (deletion, generation, own conditions, Ready)", () => {
  it.each<Row>([
    { name: "vector 1: any kind being deleted is Terminating", yaml: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, deletionTimestamp: '2024-05-01T10:00:00Z'}", status: "Terminating", reason: "Terminating", message: "Resource scheduled for deletion" },
    { name: "vector 2: generation not observed", yaml: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, generation: 2}\nstatus: {observedGeneration: 1}", status: "InProgress", reason: "LatestGenerationNotObserved", message: "ConfigMap generation is 2, but latest observed generation is 1" },
    { name: "vector 3: Stalled before Reconciling wins", yaml: `${cr}status: {conditions: [{type: Stalled, status: 'True', reason: BadConfig, message: m}, {type: Reconciling, status: 'True', reason: Working}]}`, status: "Failed", reason: "BadConfig", message: "m" },
    { name: "vector 4: Reconciling before Stalled wins", yaml: `${cr}status: {conditions: [{type: Reconciling, status: 'True', reason: Working, message: busy}, {type: Stalled, status: 'True', reason: BadConfig}]}`, status: "InProgress", reason: "Working", message: "busy" },
    { name: "vector 5: custom resource with Ready=False", yaml: `${cr}status: {conditions: [{type: Ready, status: 'False', reason: Waiting, message: not yet}]}`, status: "InProgress", reason: "Waiting", message: "not yet" },
    { name: "vector 6: custom resource with Ready=True", yaml: `${cr}status: {conditions: [{type: Ready, status: 'True'}]}`, status: "Current", reason: undefined, message: "Resource is Ready" },
    { name: "vector 7: custom resource without status", yaml: cr, status: "Current", reason: undefined, message: "Resource is current" },
    { name: "Ready=Unknown is InProgress", yaml: `${cr}status: {conditions: [{type: Ready, status: Unknown, reason: Pending}]}`, status: "InProgress", reason: "Pending" },
    { name: "Ready=False without a reason still says why", yaml: `${cr}status: {conditions: [{type: Ready, status: 'False'}]}`, status: "InProgress", reason: "NotReady", message: "Ready=False" },
    { name: "a Ready status other than True/False/Unknown is ignored", yaml: `${cr}status: {conditions: [{type: Ready, status: Maybe}]}`, status: "Current", reason: undefined, message: "Resource is current" },
    { name: "Reconciling=False is not a signal", yaml: `${cr}status: {conditions: [{type: Reconciling, status: 'False'}]}`, status: "Current", reason: undefined },
    { name: "matching generations pass", yaml: `${cr}status: {observedGeneration: 1, conditions: [{type: Ready, status: 'True'}]}`, status: "Current", reason: undefined },
    { name: "no observedGeneration skips the generation check", yaml: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, generation: 5}", status: "Current", reason: undefined, message: "Resource is always ready" },
    { name: "own Stalled condition beats the kind rule", yaml: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nstatus: {conditions: [{type: Stalled, status: 'True', reason: Quota, message: over quota}]}", status: "Failed", reason: "Quota", message: "over quota" },
    { name: "an empty object is assumed current", yaml: "{}", status: "Current", reason: undefined },
  ])("$name", check);
});

describe("fields of the wrong type give Unknown, never a throw", () => {
  it.each<Row>([
    { name: "string observedGeneration", yaml: `${cr}status: {observedGeneration: '1'}`, status: "Unknown", reason: "InvalidField", message: 'Widget: status.observedGeneration must be an integer, got string "1"' },
    { name: "fractional observedGeneration", yaml: `${cr}status: {observedGeneration: 1.5}`, status: "Unknown", reason: "InvalidField", message: "Widget: status.observedGeneration must be an integer, got number 1.5" },
    { name: "string generation", yaml: "apiVersion: v1\nkind: ConfigMap\nmetadata: {generation: '2'}", status: "Unknown", reason: "InvalidField", message: /metadata\.generation must be an integer/ },
    { name: "non-string deletionTimestamp", yaml: `${cr.replace("generation: 1", "deletionTimestamp: 5")}`, status: "Unknown", reason: "InvalidField", message: /metadata\.deletionTimestamp must be a string/ },
    { name: "conditions not a list", yaml: `${cr}status: {conditions: {type: Ready}}`, status: "Unknown", reason: "InvalidField", message: "Widget: status.conditions must be a list, got an object" },
    { name: "condition type not a string", yaml: `${cr}status: {conditions: [{type: Ready, status: true}]}`, status: "Unknown", reason: "InvalidField", message: "Widget: status.conditions[0].status must be a string, got boolean true" },
    { name: "status not an object", yaml: `${cr}status: [ready]`, status: "Unknown", reason: "InvalidField", message: "Widget: status must be an object, got an array" },
    { name: "an array instead of an object", yaml: "[1, 2]", status: "Unknown", reason: "InvalidField", message: "Resource: the object must be an object, got an array" },
    { name: "a generation-less object tolerates any observedGeneration", yaml: "apiVersion: example.com/v1\nkind: Widget\nstatus: {observedGeneration: abc}", status: "Current", reason: undefined },
  ])("$name", check);
});

const deploy = (spec: string, status: string) => `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {${spec}}\nstatus: {${status}}`;
const progressed = "conditions: [{type: Progressing, status: 'True', reason: NewReplicaSetAvailable}, {type: Available, status: 'True'}]";

describe("Deployment", () => {
  it.each<Row>([
    { name: "vector 8: fewer replicas than wanted", yaml: deploy("replicas: 3", "replicas: 2"), status: "InProgress", reason: "LessReplicas", message: "Replicas: 2/3" },
    { name: "vector 9: available", yaml: deploy("replicas: 3, progressDeadlineSeconds: 600", `replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, ${progressed}`), status: "Current", reason: undefined, message: "Deployment is available. Replicas: 3" },
    { name: "vector 10: new ReplicaSet not yet available", yaml: deploy("replicas: 3, progressDeadlineSeconds: 600", "replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, conditions: [{type: Progressing, status: 'True', reason: ReplicaSetUpdated}, {type: Available, status: 'True'}]"), status: "InProgress", reason: "ReplicaSetNotAvailable", message: "ReplicaSet not Available" },
    { name: "vector 11: progress deadline exceeded", yaml: deploy("replicas: 3", "replicas: 3, conditions: [{type: Progressing, status: 'False', reason: ProgressDeadlineExceeded}]"), status: "Failed", reason: "ProgressDeadlineExceeded", message: "Progress deadline exceeded" },
    { name: "vector 12: spec.replicas defaults to 1", yaml: deploy("", "replicas: 2, updatedReplicas: 2"), status: "InProgress", reason: "ExtraPods", message: "Pending termination: 1" },
    { name: "vector 28: non-integer spec.replicas counts as the default 1", yaml: deploy("replicas: 3.5", `replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1, ${progressed}`), status: "Current", reason: undefined, message: "Deployment is available. Replicas: 1" },
    { name: "too few updated", yaml: deploy("replicas: 3", "replicas: 3, updatedReplicas: 1"), status: "InProgress", reason: "LessUpdated", message: "Updated: 1/3" },
    { name: "updated but not available", yaml: deploy("replicas: 3", "replicas: 3, updatedReplicas: 3, availableReplicas: 2"), status: "InProgress", reason: "LessAvailable", message: "Available: 2/3" },
    { name: "available but not ready", yaml: deploy("replicas: 3", "replicas: 3, updatedReplicas: 3, availableReplicas: 3, readyReplicas: 1"), status: "InProgress", reason: "LessReady", message: "Ready: 1/3" },
    { name: "counts fine but Available not True", yaml: deploy("replicas: 1", "replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1"), status: "InProgress", reason: "DeploymentNotAvailable", message: "Deployment not Available" },
    { name: "string replicas count as absent", yaml: deploy("replicas: 1", "replicas: '1'"), status: "InProgress", reason: "LessReplicas", message: "Replicas: 0/1" },
  ])("$name", check);
});

const sts = (spec: string, status: string) => `apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec: {${spec}}\nstatus: {${status}}`;
const stsCounts = "replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3";

describe("StatefulSet", () => {
  it.each<Row>([
    { name: "vector 13: OnDelete is user-managed", yaml: "apiVersion: apps/v1\nkind: StatefulSet\nspec: {updateStrategy: {type: OnDelete}}", status: "Current", reason: undefined, message: "StatefulSet is using the ondelete update strategy" },
    { name: "vector 14: partition rollout pending", yaml: sts("replicas: 3, updateStrategy: {rollingUpdate: {partition: 2}}", "replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 0"), status: "InProgress", reason: "PartitionRollout", message: "updated: 0/1" },
    { name: "vector 15: revisions differ", yaml: sts("replicas: 3", `${stsCounts}, currentRevision: a, updateRevision: b`), status: "InProgress", reason: "RevisionMismatch", message: "Waiting for updated revision to match current" },
    { name: "partition rollout complete", yaml: sts("replicas: 3, updateStrategy: {rollingUpdate: {partition: 2}}", stsCounts), status: "Current", reason: undefined, message: "Partition rollout complete. updated: 3" },
    { name: "not all ready", yaml: sts("replicas: 3", "replicas: 3, readyReplicas: 2"), status: "InProgress", reason: "LessReady", message: "Ready: 2/3" },
    { name: "not all current", yaml: sts("replicas: 3", "replicas: 3, readyReplicas: 3, currentReplicas: 1"), status: "InProgress", reason: "LessCurrent", message: "current: 1/3" },
    { name: "all replicas at the same revision", yaml: sts("replicas: 3", `${stsCounts}, currentRevision: a, updateRevision: a`), status: "Current", reason: undefined, message: "All replicas scheduled as expected. Replicas: 3" },
  ])("$name", check);
});

const ds = (meta: string, status: string) => `apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent${meta}}\nstatus: {${status}}`;

describe("DaemonSet", () => {
  it.each<Row>([
    { name: "vector 16: no observedGeneration yet", yaml: ds(", generation: 1", ""), status: "InProgress", reason: "NoObservedGeneration", message: "DaemonSet status.observedGeneration not found" },
    { name: "vector 17: no desiredNumberScheduled", yaml: ds(", generation: 1", "observedGeneration: 1"), status: "InProgress", reason: "NoDesiredNumber", message: "Missing .status.desiredNumberScheduled" },
    { name: "no generation", yaml: ds("", "observedGeneration: 1"), status: "InProgress", reason: "NoGeneration", message: "DaemonSet metadata.generation not found" },
    { name: "not ready on every node", yaml: ds(", generation: 1", "observedGeneration: 1, desiredNumberScheduled: 3, currentNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3, numberReady: 2"), status: "InProgress", reason: "LessReady", message: "Ready: 2/3" },
    { name: "scheduled everywhere", yaml: ds(", generation: 1", "observedGeneration: 1, desiredNumberScheduled: 3, currentNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3, numberReady: 3"), status: "Current", reason: undefined, message: "All replicas scheduled as expected. Replicas: 3" },
  ])("$name", check);
});

describe("ReplicaSet", () => {
  it.each<Row>([
    { name: "ReplicaFailure condition", yaml: "apiVersion: apps/v1\nkind: ReplicaSet\nstatus: {conditions: [{type: ReplicaFailure, status: 'True'}]}", status: "InProgress", reason: "ReplicaFailure", message: "Replica Failure condition. Check Pods" },
    { name: "not fully labelled", yaml: "apiVersion: apps/v1\nkind: ReplicaSet\nspec: {replicas: 2}\nstatus: {replicas: 2, fullyLabeledReplicas: 1}", status: "InProgress", reason: "LessLabelled", message: "Labelled: 1/2" },
    { name: "available", yaml: "apiVersion: apps/v1\nkind: ReplicaSet\nspec: {replicas: 2}\nstatus: {replicas: 2, fullyLabeledReplicas: 2, availableReplicas: 2, readyReplicas: 2}", status: "Current", reason: undefined, message: "ReplicaSet is available. Replicas: 2" },
  ])("$name", check);
});

describe("aggregate", () => {
  const of = (...statuses: ObjectStatus[]) => statuses.map(status => ({ status }));
  it.each<{ name: string; healths: { status: ObjectStatus }[]; desired?: ObjectStatus; want: ObjectStatus }>([
    { name: "empty set is the desired status", healths: [], want: "Current" },
    { name: "all current", healths: of("Current", "Current"), want: "Current" },
    { name: "any Failed wins, even over Unknown", healths: of("Current", "Unknown", "Failed"), want: "Failed" },
    { name: "Unknown wins over InProgress", healths: of("InProgress", "Unknown", "Current"), want: "Unknown" },
    { name: "anything short of desired is InProgress", healths: of("Current", "InProgress"), want: "InProgress" },
    { name: "Terminating while waiting for Current is InProgress", healths: of("Current", "Terminating"), want: "InProgress" },
    { name: "vector 29: NotFound comes from the poller; all NotFound meets a deletion wait", healths: of("NotFound", "NotFound"), desired: "NotFound", want: "NotFound" },
  ])("$name", ({ healths, desired, want }) => {
    expect(aggregate(healths, desired)).toBe(want);
  });
});

describe("kstatusView: what a watch cache keeps of an object for kstatus", () => {
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "shop", generation: 3, resourceVersion: "77", labels: { a: "b" }, annotations: { big: "x".repeat(1000) }, uid: "u" },
    spec: { replicas: 2 },
    status: { observedGeneration: 3, replicas: 2, updatedReplicas: 2, readyReplicas: 1, availableReplicas: 1 },
  };
  it("judges exactly as the whole object does, without labels, annotations or data", () => {
    const view = kstatusView(deployment);
    expect(compute(view)).toEqual(compute(deployment));
    expect(view.metadata).toEqual({ name: "web", namespace: "shop", generation: 3, resourceVersion: "77", deletionTimestamp: undefined, creationTimestamp: undefined });
    const cm = kstatusView({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { secret: "s" } });
    expect(JSON.stringify(cm)).not.toContain("secret");
  });
});
