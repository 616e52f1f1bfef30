// Commands that change a StageSet, as the user (their kubeconfig and RBAC): approve a stage's
// revision (the admission webhook checks the approve verb and records it), request a reconcile
// (and follow it live with --wait), suspend and resume.
import { StageSetGVK, type StageSet } from "../capabilities/api";
import { requestedAtAnnotation } from "../capabilities/engine";
import type { KubeClient } from "../capabilities/kube";
import { approveAnnotation } from "../capabilities/promotion";
import { paint, shortRevision, toneOf, type Style } from "./output";

export const stageSetPath = (namespace: string, name: string) => `/apis/${StageSetGVK.group}/${StageSetGVK.version}/namespaces/${encodeURIComponent(namespace)}/${StageSetGVK.plural}/${encodeURIComponent(name)}`;

export async function readStageSet(client: KubeClient, namespace: string, name: string): Promise<StageSet> {
  return (await client.get<StageSet>(stageSetPath(namespace, name))).body;
}

/** Approves the stage at a revision: the one it is trying now unless given. Returns the revision approved. */
export async function approve(client: KubeClient, namespace: string, name: string, stage: string, revision?: string): Promise<string> {
  const ss = await readStageSet(client, namespace, name);
  const rev = revision ?? ss.status?.stages?.find(s => s.name === stage)?.attemptedRevision;
  if (!rev) throw new Error(`stage ${stage} of StageSet ${namespace}/${name} has no revision to approve yet (give one with --revision)`);
  await client.mergePatch(stageSetPath(namespace, name), { metadata: { annotations: { [approveAnnotation]: `${stage}@${rev}` } } });
  return rev;
}

export async function setSuspended(client: KubeClient, namespace: string, name: string, suspend: boolean): Promise<void> {
  await client.mergePatch(stageSetPath(namespace, name), { spec: { suspend } });
}

/** Asks for a run now (the annotation `flux reconcile` sets); returns the value to wait on. */
export async function requestReconcile(client: KubeClient, namespace: string, name: string, now: Date): Promise<string> {
  const value = now.toISOString();
  await client.mergePatch(stageSetPath(namespace, name), { metadata: { annotations: { [requestedAtAnnotation]: value } } });
  return value;
}

export type WaitResult = { ready: true } | { ready: false; why: string };

/**
 * Follows the requested run until it is handled and the StageSet is Ready (or Stalled, or the
 * timeout passes), printing each stage's phase as it changes: one line per change.
 */
export async function waitForRun(client: KubeClient, namespace: string, name: string, requestedAt: string, timeoutMs: number, say: (line: string) => void, style: Style): Promise<WaitResult> {
  const deadline = Date.now() + timeoutMs;
  const seen = new Map<string, string>();
  for (;;) {
    const ss = await readStageSet(client, namespace, name);
    const handled = ss.status?.lastHandledReconcileAt === requestedAt;
    for (const st of ss.status?.stages ?? []) {
      const line = `stage ${st.name}   ${st.phase}   ${shortRevision(st.attemptedRevision)}   ${st.message ?? ""}`.trimEnd();
      if (handled && seen.get(st.name) !== line) {
        seen.set(st.name, line);
        say(line.replace(st.phase, toneOf(st.phase) ? paint(style, toneOf(st.phase)!, st.phase) : st.phase));
      }
    }
    const ready = ss.status?.conditions?.find(c => c.type === "Ready");
    const stalled = ss.status?.conditions?.find(c => c.type === "Stalled" && c.status === "True");
    if (handled && ready?.status === "True" && ready.observedGeneration === ss.metadata?.generation) return { ready: true };
    if (handled && stalled) return { ready: false, why: `Stalled: ${stalled.reason}: ${stalled.message}` };
    if (Date.now() > deadline) return { ready: false, why: `not Ready after ${Math.round(timeoutMs / 1000)} s: ${ready?.reason ?? "no Ready condition"}: ${ready?.message ?? ""}` };
    await new Promise(ok => setTimeout(ok, 250));
  }
}
