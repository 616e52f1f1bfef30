// The core-group, batch and apiextensions rules, one table per kind. Rows marked "vector N"
// are the test vectors of research/contracts.md §3.4.
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { compute } from "./index";
import { checkRow as check, type Row } from "./testdata/rows";

const created = "2024-05-01T10:00:00Z";
const minuteLater = Date.parse(created) + 60_000;
const pod = (status: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: p, creationTimestamp: '${created}'}\nstatus: {${status}}`;
const unschedulable = "phase: Pending, conditions: [{type: PodScheduled, status: 'False', reason: Unschedulable}]";

describe("Pod", () => {
  it.each<Row>([
    { name: "vector 18: running, not ready, crash looping", yaml: pod("phase: Running, conditions: [{type: Ready, status: 'False'}], containerStatuses: [{name: app, state: {waiting: {reason: CrashLoopBackOff}}}, {name: sidecar, state: {running: {}}}]"), status: "Failed", reason: "ContainerCrashLooping", message: "Containers in CrashLoop state: app" },
    { name: "vector 19: Failed phase has completed", yaml: pod("phase: Failed"), status: "Current", reason: undefined, message: "Pod has completed, but not successfully" },
    { name: "vector 20: unschedulable for a minute", yaml: pod(unschedulable), now: minuteLater, status: "Failed", reason: "PodUnschedulable", message: "Pod could not be scheduled" },
    { name: "vector 21: unknown phase", yaml: pod("phase: Unknown"), status: "Unknown", reason: "UnknownPodPhase", message: 'Pod has unknown status.phase "Unknown"' },
    { name: "unschedulable within the 15 s window", yaml: pod(unschedulable), now: Date.parse(created) + 5_000, status: "InProgress", reason: "PodNotScheduled", message: "Pod has not been scheduled" },
    { name: "unschedulable and no clock given: treated as old", yaml: pod(unschedulable), status: "Failed", reason: "PodUnschedulable" },
    { name: "succeeded", yaml: pod("phase: Succeeded"), status: "Current", reason: undefined, message: "Pod has completed successfully" },
    { name: "running and ready", yaml: pod("phase: Running, conditions: [{type: Ready, status: 'True'}]"), status: "Current", reason: undefined, message: "Pod is Ready" },
    { name: "running, not ready", yaml: pod("phase: Running"), status: "InProgress", reason: "PodRunningNotReady", message: "Pod is running but is not Ready" },
    { name: "pending", yaml: pod("phase: Pending"), status: "InProgress", reason: "PodPending", message: "Pod is in the Pending phase" },
    { name: "no phase yet", yaml: pod(""), status: "InProgress", reason: "PodNotObserved", message: "Pod phase not available" },
    { name: "containerStatuses not a list", yaml: pod("phase: Running, containerStatuses: oops"), status: "Unknown", reason: "InvalidField", message: 'Pod: status.containerStatuses must be a list, got string "oops"' },
  ])("$name", check);
});

const job = (spec: string, status: string) => `apiVersion: batch/v1\nkind: Job\nmetadata: {name: migrate}\nspec: {${spec}}\nstatus: {${status}}`;
const started = "startTime: '2024-05-01T10:00:00Z'";

describe("Job", () => {
  it.each<Row>([
    // Upstream kstatus says Current here; we wait for completion as Flux does (rules.ts).
    { name: "vector 22: started, no conditions: still running", yaml: job("completions: 1", `${started}, active: 1`), status: "InProgress", reason: "JobInProgress", message: "Job in progress. succeeded: 0/1, active: 1, failed: 0" },
    { name: "vector 23: Failed condition", yaml: job("completions: 1", `${started}, failed: 6, conditions: [{type: Failed, status: 'True', reason: BackoffLimitExceeded}]`), status: "Failed", reason: "JobFailed", message: "Job Failed. failed: 6/1" },
    { name: "not started", yaml: job("", ""), status: "InProgress", reason: "JobNotStarted", message: "Job not started" },
    { name: "complete", yaml: job("completions: 2", `${started}, succeeded: 2, conditions: [{type: Complete, status: 'True'}]`), status: "Current", reason: undefined, message: "Job Completed. succeeded: 2/2" },
    { name: "completions default to parallelism", yaml: job("parallelism: 3", `${started}, succeeded: 3, conditions: [{type: Complete, status: 'True'}]`), status: "Current", reason: undefined, message: "Job Completed. succeeded: 3/3" },
    { name: "suspended by spec and controller", yaml: job("suspend: true", "conditions: [{type: Suspended, status: 'True'}]"), status: "Current", reason: undefined, message: "Job is suspended" },
    { name: "Suspended condition left over after resuming", yaml: job("suspend: false", `${started}, conditions: [{type: Suspended, status: 'True'}]`), status: "InProgress", reason: "JobInProgress" },
    { name: "Complete=False is not completion", yaml: job("", `${started}, conditions: [{type: Complete, status: 'False'}]`), status: "InProgress", reason: "JobInProgress" },
  ])("$name", check);

  it("goes from in progress to complete, and a failed run is Failed", () => {
    const states = [
      job("completions: 1", ""),
      job("completions: 1", `${started}, active: 1`),
      job("completions: 1", `${started}, succeeded: 1, conditions: [{type: Complete, status: 'True'}]`),
      job("completions: 1", `${started}, failed: 1, conditions: [{type: Failed, status: 'True'}]`),
    ].map(y => compute(parse(y) as object));
    expect(states.map(h => [h.status, h.reason])).toEqual([
      ["InProgress", "JobNotStarted"],
      ["InProgress", "JobInProgress"],
      ["Current", undefined],
      ["Failed", "JobFailed"],
    ]);
  });
});

describe("PersistentVolumeClaim, Service, PodDisruptionBudget, always-ready kinds", () => {
  it.each<Row>([
    { name: "vector 24: PVC pending", yaml: "apiVersion: v1\nkind: PersistentVolumeClaim\nstatus: {phase: Pending}", status: "InProgress", reason: "NotBound", message: "PVC is not Bound. phase: Pending" },
    { name: "PVC without status", yaml: "apiVersion: v1\nkind: PersistentVolumeClaim", status: "InProgress", reason: "NotBound", message: "PVC is not Bound. phase: unknown" },
    { name: "PVC bound", yaml: "apiVersion: v1\nkind: PersistentVolumeClaim\nstatus: {phase: Bound}", status: "Current", reason: undefined, message: "PVC is Bound" },
    { name: "vector 25: LoadBalancer without a cluster IP", yaml: "apiVersion: v1\nkind: Service\nspec: {type: LoadBalancer, clusterIP: ''}", status: "InProgress", reason: "NoIPAssigned", message: "ClusterIP not set. Service type: LoadBalancer" },
    { name: "LoadBalancer with a cluster IP, no ingress yet (upstream ignores ingress)", yaml: "apiVersion: v1\nkind: Service\nspec: {type: LoadBalancer, clusterIP: 10.0.0.1}", status: "Current", reason: undefined, message: "Service is ready" },
    { name: "ClusterIP service by default", yaml: "apiVersion: v1\nkind: Service\nspec: {}", status: "Current", reason: undefined },
    { name: "PDB observed", yaml: "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {generation: 2}\nstatus: {observedGeneration: 2}", status: "Current", reason: undefined, message: "AllowedDisruptions has been computed." },
    { name: "PDB not observed yet (generic check)", yaml: "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {generation: 2}\nstatus: {observedGeneration: 1}", status: "InProgress", reason: "LatestGenerationNotObserved" },
    { name: "Secret", yaml: "apiVersion: v1\nkind: Secret", status: "Current", reason: undefined, message: "Resource is always ready" },
    { name: "CronJob", yaml: "apiVersion: batch/v1\nkind: CronJob", status: "Current", reason: undefined, message: "Resource is always ready" },
    { name: "a kind named like an Object.prototype key has no rule", yaml: "apiVersion: v1\nkind: constructor", status: "Current", reason: undefined, message: "Resource is current" },
  ])("$name", check);
});

const crd = (conditions: string) => `apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nstatus: {conditions: [${conditions}]}`;

describe("CustomResourceDefinition", () => {
  it.each<Row>([
    { name: "vector 26: still installing", yaml: crd("{type: Established, status: 'False', reason: Installing}"), status: "InProgress", reason: "Installing", message: "Install in progress" },
    { name: "vector 27: names not accepted", yaml: crd("{type: NamesAccepted, status: 'False', reason: ListKindConflict, message: 'list kind in use'}"), status: "Failed", reason: "ListKindConflict", message: "list kind in use" },
    { name: "established", yaml: crd("{type: NamesAccepted, status: 'True'}, {type: Established, status: 'True'}"), status: "Current", reason: undefined, message: "CRD is established" },
    { name: "not established for another reason", yaml: crd("{type: Established, status: 'False', reason: Broken}"), status: "Failed", reason: "Broken", message: "CustomResourceDefinition condition Established is False" },
    { name: "no conditions yet", yaml: "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition", status: "InProgress", reason: "Installing" },
  ])("$name", check);
});
