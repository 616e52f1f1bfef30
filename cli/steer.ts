// Commands that change a StageSet, as the user (their kubeconfig and RBAC): approve a stage's
// revision (the admission webhook checks the approve verb and records it), request a reconcile
// (and follow it live with --wait), suspend and resume.
import { stageSetsPath as stageSetPath, type StageSet } from "../capabilities/api";
import { requestedAtAnnotation } from "../capabilities/engine";
import type { KubeClient } from "../capabilities/kube";
import { approvalsAnnotation, approveAnnotation, parseApprovals } from "../capabilities/promotion";
import { paint, shortRevision, toneOf, type Style } from "./output";

export async function readStageSet(client: KubeClient, namespace: string, name: string): Promise<StageSet> {
  return (await client.get<StageSet>(stageSetPath(namespace, name))).body;
}

export type Approval = { revision: string; effective: true } | { revision: string; effective: false; why: string };

/**
 * Approves the stage at a revision: without one, the revision pinned for the run, and only
 * while the stage is Ready at it and waits for approval (never a revision nobody has seen
 * Ready). Preconditioned on the StageSet as read, so a run that starts meanwhile is not
 * approved by mistake. Says whether the record the webhook wrote lets the stage through.
 */
export async function approve(client: KubeClient, namespace: string, name: string, stage: string, revision?: string): Promise<Approval> {
  const ss = await readStageSet(client, namespace, name);
  const st = ss.status?.stages?.find(s => s.name === stage);
  const pinned = ss.status?.lastAttemptedRevisions?.[stage];
  const waiting = st?.phase === "Ready" && st.attemptedRevision === pinned && ss.status?.conditions?.some(c => c.type === "Reconciling" && c.reason === "ApprovalRequired");
  if (!revision && (!pinned || !waiting)) throw new Error(`stage ${stage} of StageSet ${namespace}/${name} is not waiting for an approval (phase ${st?.phase ?? "none"}${pinned ? `, pinned ${pinned}` : ""}); give --revision to approve a revision anyway`);
  const rev = revision ?? pinned!;
  const patched = await client.mergePatch<typeof ss>(stageSetPath(namespace, name), { metadata: { resourceVersion: ss.metadata?.resourceVersion, annotations: { [approveAnnotation]: `${stage}@${rev}` } } });
  const record = parseApprovals(patched.body.metadata?.annotations?.[approvalsAnnotation]).find(a => a.stage === stage && a.revision === rev);
  if (!record) return { revision: rev, effective: false, why: "no approval was recorded (is the admission webhook running for this namespace?)" };
  if (!record.digest) return { revision: rev, effective: false, why: `recorded, but stage ${stage} is not trying revision ${rev}, so it lets nothing through` };
  return { revision: rev, effective: true };
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

/** What holds a run until someone acts: waiting on these with --wait would only run into the timeout. */
const holds = new Set(["ApprovalRequired", "DependencyNotReady", "OutsideWindow", "Frozen"]);
/** How long a hold may still be the one from before the request (the controller has not looked yet). */
const holdGraceMs = 3_000;

/**
 * Follows the requested run until it is handled and the StageSet is Ready (or Stalled, held,
 * or the timeout passes), printing each stage's phase and the run's reason as they change.
 */
export async function waitForRun(client: KubeClient, namespace: string, name: string, requestedAt: string, timeoutMs: number, say: (line: string) => void, style: Style): Promise<WaitResult> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  const seen = new Map<string, string>();
  for (;;) {
    const ss = await readStageSet(client, namespace, name);
    if (ss.spec?.suspend) return { ready: false, why: "it is suspended (stageset resume first)" };
    // A later request by someone else handles ours too.
    const handled = (ss.status?.lastHandledReconcileAt ?? "") >= requestedAt;
    const reconciling = ss.status?.conditions?.find(c => c.type === "Reconciling");
    const reason = reconciling ? `${reconciling.reason}: ${reconciling.message}` : "";
    if (reason && seen.get("") !== reason) {
      seen.set("", reason);
      say(paint(style, "dim", reason));
    }
    if (reconciling && holds.has(reconciling.reason) && Date.now() - started > holdGraceMs) return { ready: false, why: `held: ${reason}` };
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
