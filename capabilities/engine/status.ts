// Writing what happened where users look: the StageSet status (one JSON patch that replaces
// it whole, so removed stages and revisions disappear, preconditioned on the resourceVersion
// the writer last saw) and Kubernetes Events.
import { hostname } from "node:os";
import { StageSetGVK, stageSetsPath, type StageSet, type StageSetStatus } from "../api";
import type { KubeClient } from "../kube";

export interface StageSetKey {
  namespace: string;
  name: string;
}

export const keyString = (k: StageSetKey) => `${k.namespace}/${k.name}`;

export function stageSetPath(k: StageSetKey, sub = ""): string {
  return stageSetsPath(k.namespace, k.name, sub);
}

export async function readStageSet(client: KubeClient, k: StageSetKey): Promise<StageSet | undefined> {
  const res = await client.get<StageSet>(stageSetPath(k), { allow: [404] });
  return res.status === 404 ? undefined : res.body;
}

/**
 * Replaces the status, only if the StageSet is still at resourceVersion (409 Conflict
 * otherwise: a patch that sets resourceVersion is an optimistic-concurrency precondition).
 * Returns the StageSet as written.
 */
export async function writeStatus(client: KubeClient, k: StageSetKey, status: StageSetStatus, resourceVersion: string): Promise<StageSet> {
  const ops = [
    { op: "replace", path: "/metadata/resourceVersion", value: resourceVersion },
    { op: "add", path: "/status", value: status },
  ];
  return (await client.jsonPatch<StageSet>(stageSetPath(k, "/status"), ops)).body;
}

export interface EventRecorder {
  record(ss: StageSet, type: "Normal" | "Warning", reason: string, message: string): Promise<void>;
}

/** core/v1 Events, so `kubectl describe stageset` and `kubectl get events` show transitions. */
export function eventRecorder(client: KubeClient, log: (msg: string, err: unknown) => void): EventRecorder {
  const instance = hostname();
  let seq = 0;
  return {
    async record(ss, type, reason, message) {
      const now = new Date().toISOString();
      const ns = ss.metadata!.namespace!;
      const event = {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: `${ss.metadata!.name}.${Date.now().toString(16)}${(seq++ % 4096).toString(16)}`, namespace: ns },
        involvedObject: { apiVersion: `${StageSetGVK.group}/${StageSetGVK.version}`, kind: "StageSet", name: ss.metadata!.name, namespace: ns, uid: ss.metadata!.uid },
        reason,
        message: message.slice(0, 1024),
        type,
        source: { component: "stageset-controller" },
        reportingComponent: "stageset-controller",
        reportingInstance: instance,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      };
      try {
        await client.request("POST", `/api/v1/namespaces/${encodeURIComponent(ns)}/events`, { body: event });
      } catch (err) {
        log("could not record event", err); // events are best effort; status is the record
      }
    },
  };
}
