// Transitions a user hears of: each is recorded once as an Event and, for the StageSet's
// spec.notify targets that ask for it, POSTed by the Notifier in the background (a URL from a
// Secret is read as the StageSet's ServiceAccount, off the release's path too). A delivery that
// fails is counted and recorded as a NotificationFailed Event; nothing of the release waits.
import { createHash } from "node:crypto";
import { Reason, type StageSet } from "../api";
import { secretValue } from "../kube";
import type { EngineMetrics } from "../metrics";
import { Notifier, redactUrl, type NotifierOptions, type NotifyEvent, type NotifyTarget, type Transition } from "../notify";
import { nowISO, type Run } from "./run";
import type { EventRecorder } from "./status";

export interface TransitionDetail {
  /** The notification this transition is, if any. */
  notify?: NotifyEvent;
  stage?: string;
  revision?: string;
}

export async function recordTransition(run: Run, type: "Normal" | "Warning", reason: string, message: string, detail: TransitionDetail = {}): Promise<void> {
  await run.deps.events.record(run.ss, type, reason, message);
  if (detail.notify) notify(run, detail.notify, reason, message, detail);
}

function notify(run: Run, event: NotifyEvent, reason: string, message: string, detail: TransitionDetail): void {
  const notifier = run.deps.notifications?.notifier;
  const targets = (run.ss.spec?.notify ?? []).map((spec, i) => ({ spec, name: `spec.notify[${i}]` })).filter(t => t.spec.events?.includes(event));
  if (!notifier || targets.length === 0) return;
  const { namespace, name } = run.key;
  const uid = run.ss.metadata?.uid;
  // One id per transition, however often it is observed (a requeue, a new leader): receivers de-duplicate on it.
  const id = createHash("sha256").update(JSON.stringify([uid, event, detail.stage, detail.revision, run.generation, run.status.runStartedAt, reason, message])).digest("hex").slice(0, 32);
  const transition: Transition = { event, namespace, stageSet: name, uid, stage: detail.stage, revision: detail.revision, reason, message, time: nowISO(run), generation: run.generation, id };
  const client = run.client;
  for (const { spec, name: target } of targets) {
    const format = spec.format ?? "cloudevents";
    if (spec.url) {
      notifier.enqueue({ url: spec.url, format, name: target }, transition);
      continue;
    }
    const ref = spec.secretRef!;
    void secretValue(client, namespace, ref.name, ref.key).then(
      url => notifier.enqueue({ url, format, name: target }, transition),
      (err: unknown) => run.deps.notifications?.failed(transition, "SecretUnreadable", `${target}: ${event} not delivered: cannot read key ${ref.key} of Secret ${ref.name}: ${err instanceof Error ? err.message : String(err)}`),
    );
  }
}

/** The Notifier the controller runs: a failed delivery becomes a metric and a Warning Event on the StageSet. */
export function notifierFor(metrics: EngineMetrics, events: EventRecorder, opts: Pick<NotifierOptions, "allowlist" | "lookup">): { notifier: Notifier; failed: (t: Transition, reason: string, message: string) => void } {
  const failed = (t: Transition, reason: string, message: string) => {
    metrics.notification(reason);
    const ss = { metadata: { namespace: t.namespace, name: t.stageSet, uid: t.uid } } as StageSet;
    void events.record(ss, "Warning", Reason.NotificationFailed, `${message} (${reason})`);
  };
  const notifier = new Notifier({
    ...opts,
    delivered: () => metrics.notification("delivered"),
    failed: (target: NotifyTarget, t, reason, message) => (reason === "Stopped" ? metrics.notification(reason) : failed(t, reason, message.includes(target.name) ? message : `${target.name} (${redactUrl(target.url)}): ${message}`)),
  });
  return { notifier, failed };
}
