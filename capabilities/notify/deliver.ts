// The Notifier: StageSet transitions POSTed to spec.notify targets in the background, with
// bounded concurrency, a bounded queue, retries with backoff and de-duplication by transition
// id. The release never waits for it, and every delivery that fails is reported.
import type { Lookup } from "../net";
import { retryDelayMs } from "./backoff";
import { formatPayload, redactUrl, type NotifyFormat, type Payload, type Transition } from "./payload";
import { postOnce, type Attempt } from "./post";
import { RecentKeys } from "./recent";

export interface NotifyTarget {
  /** May come from a Secret: never log it, show redactUrl(url) or `name` instead. */
  url: string;
  format: NotifyFormat;
  /** Where the target is declared, for messages: "spec.notify[0]". */
  name: string;
}

/** Why a notification was not delivered: the reason of the engine's Warning Event and metric label. */
export const NotifyFailure = {
  /** More notifications were waiting than the queue holds: the oldest waiting one was dropped. */
  QueueFull: "QueueFull",
  /** The SSRF guard refused the destination, or the URL is not an http(s) URL: nothing was sent. */
  Refused: "Refused",
  /** The receiver answered with a status that the same request gets again (a 4xx, a redirect). */
  Rejected: "Rejected",
  /** Every attempt met a network error, a timeout, a 5xx, 408 or 429. */
  RetriesExhausted: "RetriesExhausted",
  /** The Notifier stopped (the controller is shutting down) before the delivery finished. */
  Stopped: "Stopped",
} as const;
export type NotifyFailure = (typeof NotifyFailure)[keyof typeof NotifyFailure];

export interface NotifierOptions {
  /** Hostnames, addresses or CIDRs that may be reached although the SSRF guard refuses them. */
  allowlist?: readonly string[];
  lookup?: Lookup;
  /** Attempts per delivery, the first included (default 5). */
  maxAttempts?: number;
  /** The first wait before a retry; it doubles after each failure (default 1 s). */
  baseBackoffMs?: number;
  /** The longest wait before a retry, Retry-After included (default 30 s). */
  maxBackoffMs?: number;
  /** Per attempt: DNS, connect, and the response's status line (default 10 s). */
  timeoutMs?: number;
  /** Deliveries in flight at once (default 4). */
  concurrency?: number;
  /** Deliveries waiting to be sent or retried (default 1,000); beyond it the oldest is dropped. */
  maxQueued?: number;
  /** How long a delivered (url, id) is remembered, so that a second enqueue is not sent (default 10 min). */
  dedupeWindowMs?: number;
  /** Milliseconds, for the dedupe window; tests pass a fake clock. */
  now?: () => number;
  delivered?(target: NotifyTarget, t: Transition, attempts: number): void;
  /** `message` names the target and the status or error, never the URL's path or query. */
  failed?(target: NotifyTarget, t: Transition, reason: NotifyFailure, message: string, attempts: number): void;
}

/** What enqueue did: queued, already pending or delivered lately, or refused after stop(). */
export type Enqueued = "queued" | "duplicate" | "stopped";

interface Job {
  key: string;
  target: NotifyTarget;
  t: Transition;
  payload: Payload;
  attempts: number;
  state: "queued" | "sending" | "waiting";
  timer?: NodeJS.Timeout;
}

type Settings = NotifierOptions & Required<Omit<NotifierOptions, "lookup" | "delivered" | "failed">>;

const recentMax = 10_000;

export class Notifier {
  readonly #opts: Settings;
  /** Every job not settled yet, oldest first. */
  readonly #jobs = new Map<string, Job>();
  #ready: Job[] = [];
  #sending = 0;
  readonly #recent: RecentKeys;
  readonly #stopping = new AbortController();
  #idle: (() => void)[] = [];

  constructor(opts: NotifierOptions = {}) {
    const atLeastOne = (n: number | undefined, fallback: number) => Math.max(1, Math.floor(n ?? fallback));
    this.#opts = {
      ...opts,
      allowlist: opts.allowlist ?? [],
      baseBackoffMs: opts.baseBackoffMs ?? 1_000,
      maxBackoffMs: opts.maxBackoffMs ?? 30_000,
      timeoutMs: opts.timeoutMs ?? 10_000,
      dedupeWindowMs: opts.dedupeWindowMs ?? 10 * 60_000,
      now: opts.now ?? Date.now,
      maxAttempts: atLeastOne(opts.maxAttempts, 5),
      concurrency: atLeastOne(opts.concurrency, 4),
      maxQueued: atLeastOne(opts.maxQueued, 1_000),
    };
    this.#recent = new RecentKeys(this.#opts.dedupeWindowMs, recentMax, this.#opts.now);
  }

  /** Deliveries not settled yet (waiting, in flight or between attempts): a queue-depth gauge. */
  get pending(): number {
    return this.#jobs.size;
  }

  /** Queues a POST of `t` to `target` and returns at once; the outcome reaches the callbacks. */
  enqueue(target: NotifyTarget, t: Transition): Enqueued {
    if (this.#stopping.signal.aborted) {
      this.#report(target, t, NotifyFailure.Stopped, `${who(target, t)} not delivered: notifications are stopped`, 0);
      return "stopped";
    }
    const key = `${target.url}\u0000${t.id}`;
    if (this.#jobs.has(key) || this.#recent.has(key)) return "duplicate";
    if (this.#jobs.size - this.#sending >= this.#opts.maxQueued) this.#dropOldest();
    const job: Job = { key, target, t, payload: formatPayload(target.format, t), attempts: 0, state: "queued" };
    this.#jobs.set(key, job);
    this.#ready.push(job);
    this.#pump();
    return "queued";
  }

  /** Resolves once nothing is pending (every delivery settled, or stop() called). */
  idle(): Promise<void> {
    if (this.#jobs.size === 0) return Promise.resolve();
    return new Promise(resolve => this.#idle.push(resolve));
  }

  /** Aborts requests in flight, clears every timer, and reports each pending delivery as Stopped. */
  stop(): void {
    if (this.#stopping.signal.aborted) return;
    this.#stopping.abort();
    const jobs = [...this.#jobs.values()];
    this.#jobs.clear();
    this.#ready = [];
    for (const job of jobs) {
      clearTimeout(job.timer);
      this.#report(job.target, job.t, NotifyFailure.Stopped, `${who(job.target, job.t)} not delivered: the controller stopped`, job.attempts);
    }
    this.#settled();
  }

  #pump(): void {
    while (this.#sending < this.#opts.concurrency && this.#ready.length > 0) void this.#attempt(this.#ready.shift()!);
  }

  async #attempt(job: Job): Promise<void> {
    job.state = "sending";
    job.attempts++;
    this.#sending++;
    const { allowlist, lookup, timeoutMs } = this.#opts;
    const result = await postOnce(job.target.url, job.payload, { allowlist, lookup, timeoutMs, signal: this.#stopping.signal }).catch(
      (err: unknown): Attempt => ({ kind: "retry", detail: err instanceof Error ? err.name : "unexpected error" }),
    );
    this.#sending--;
    if (this.#stopping.signal.aborted) return; // stop() has reported it
    this.#conclude(job, result);
    this.#pump();
    this.#settled();
  }

  #conclude(job: Job, result: Attempt): void {
    const { target, t, attempts } = job;
    switch (result.kind) {
      case "delivered":
        this.#jobs.delete(job.key);
        this.#recent.add(job.key);
        return this.#report(target, t, undefined, "", attempts);
      case "refused":
        return this.#finish(job, NotifyFailure.Refused, `${who(target, t)} not sent: ${result.detail}`);
      case "rejected":
        return this.#finish(job, NotifyFailure.Rejected, `${who(target, t)} not delivered: ${result.detail}; not retried`);
      case "retry":
        if (attempts < this.#opts.maxAttempts) return this.#retryLater(job, result.retryAfterMs);
        return this.#finish(job, NotifyFailure.RetriesExhausted, `${who(target, t)} not delivered after ${attempts} ${attempts === 1 ? "attempt" : "attempts"}: ${result.detail}`);
    }
  }

  #retryLater(job: Job, retryAfterMs: number | undefined): void {
    const delay = retryDelayMs(job.attempts, { baseMs: this.#opts.baseBackoffMs, maxMs: this.#opts.maxBackoffMs }, retryAfterMs, Math.random());
    job.state = "waiting";
    // Unref'd: a pending retry never keeps the process alive; stop() clears it anyway.
    job.timer = setTimeout(() => {
      job.timer = undefined;
      job.state = "queued";
      this.#ready.unshift(job); // it is older than anything queued after it
      this.#pump();
    }, delay).unref();
  }

  #dropOldest(): void {
    const oldest = [...this.#jobs.values()].find(j => j.state !== "sending");
    if (!oldest) return;
    clearTimeout(oldest.timer);
    this.#ready = this.#ready.filter(j => j !== oldest);
    this.#finish(oldest, NotifyFailure.QueueFull, `${who(oldest.target, oldest.t)} dropped: more than ${this.#opts.maxQueued} notifications waiting`);
  }

  #finish(job: Job, reason: NotifyFailure, message: string): void {
    this.#jobs.delete(job.key);
    this.#report(job.target, job.t, reason, message, job.attempts);
  }

  // The callbacks belong to the engine. One that throws must not stop the queue, and there is
  // no caller to hand the error to: deliveries run in the background.
  #report(target: NotifyTarget, t: Transition, reason: NotifyFailure | undefined, message: string, attempts: number): void {
    try {
      if (reason === undefined) this.#opts.delivered?.(target, t, attempts);
      else this.#opts.failed?.(target, t, reason, message, attempts);
    } catch {
      // see above
    }
  }

  #settled(): void {
    if (this.#jobs.size > 0) return;
    const waiting = this.#idle;
    this.#idle = [];
    for (const resolve of waiting) resolve();
  }
}

/** "spec.notify[0] (https://hooks.example.com): StageReady of stage app" */
function who(target: NotifyTarget, t: Transition): string {
  return `${target.name} (${redactUrl(target.url)}): ${t.event}${t.stage === undefined ? "" : ` of stage ${t.stage}`}`;
}
