// Argo Rollouts without Argo: a Rollout-shaped CRD (argoproj.io/v1alpha1, status subresource)
// and helpers that write status as the Argo controller would, for tests of stages that hold
// Rollouts. The CRD is cluster-scoped and shared by the run: applied idempotently, left in place.
import { K8s, kind } from "pepr";
import { installLooseCRD } from "./cluster";

const rolloutKind = { group: "argoproj.io", version: "v1alpha1", kind: "Rollout", plural: "rollouts" };

export const installRolloutCRD = () => installLooseCRD(rolloutKind);

/** A workload manifest (Deployment, Rollout) of 2 replicas running `registry.invalid/<name>:<tag>`; `extra` is appended to its spec. */
export function workload(apiVersion: string, workloadKind: string, name: string, tag: number | string = 1, extra = ""): string {
  return `apiVersion: ${apiVersion}
kind: ${workloadKind}
metadata: { name: ${name} }
spec:
  replicas: 2
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec: { containers: [{ name: web, image: "registry.invalid/${name}:${tag}" }] }
${extra}`;
}

export const getRollout = (namespace: string, name: string) => K8s(kind.GenericKind, { kindOverride: rolloutKind }).InNamespace(namespace).Get(name);

/** Writes the Rollout's status through /status, as the Argo Rollouts controller does. */
export const setRolloutStatus = (namespace: string, name: string, status: Record<string, unknown>) => K8s(kind.GenericKind, { kindOverride: rolloutKind }).PatchStatus({ metadata: { name, namespace }, status });
