// Test helpers for the Notifier (imported by tests only): transitions, a recorder of the
// outcome callbacks, and a handler that holds responses until the test lets them go.
import type { ServerResponse } from "node:http";
import { Notifier, type NotifierOptions, type NotifyFailure, type NotifyTarget, type Transition } from "../../capabilities/notify";

export interface Outcome {
  target: string;
  id: string;
  result: "delivered" | NotifyFailure;
  attempts: number;
  message?: string;
}

export const transition = (id: string, more: Partial<Transition> = {}): Transition => ({
  event: "StageReady",
  namespace: "shop",
  stageSet: "web",
  stage: "app",
  revision: "v1.2.3",
  message: "Deployment web: 3/3 ready",
  time: "2025-05-01T12:00:00Z",
  id,
  ...more,
});

export const target = (url: string, more: Partial<NotifyTarget> = {}): NotifyTarget => ({ url, format: "cloudevents", name: "spec.notify[0]", ...more });

/** A Notifier with small backoffs that records every outcome; loopback is allowed. */
export function recordingNotifier(more: NotifierOptions = {}): { notifier: Notifier; outcomes: Outcome[] } {
  const outcomes: Outcome[] = [];
  const notifier = new Notifier({
    allowlist: ["127.0.0.1"],
    baseBackoffMs: 20,
    maxBackoffMs: 100,
    timeoutMs: 2_000,
    delivered: (to, t, attempts) => void outcomes.push({ target: to.name, id: t.id, result: "delivered", attempts }),
    failed: (to, t, reason, message, attempts) => void outcomes.push({ target: to.name, id: t.id, result: reason, attempts, message }),
    ...more,
  });
  return { notifier, outcomes };
}

/** Responses held until release(): answers every one held so far, and later ones at once. */
export function holding(status = 200): { handler: (_seen: unknown, res: ServerResponse) => void; release: () => void; held: () => number } {
  let waiting: ServerResponse[] = [];
  let released = false;
  return {
    handler: (_seen, res) => (released ? void res.writeHead(status).end() : void waiting.push(res)),
    release: () => {
      released = true;
      for (const res of waiting) res.writeHead(status).end();
      waiting = [];
    },
    held: () => waiting.length,
  };
}

export const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/** Waits until `done()` holds, checking every 5 ms; throws after `timeoutMs`. */
export async function until(done: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
