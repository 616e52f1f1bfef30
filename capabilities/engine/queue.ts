// The work queue Pepr does not give us: one run at a time per StageSet, a global bound on
// concurrent runs, and timers for requeue, backoff and resync. Reconcile never sleeps; it
// returns an Outcome and the queue schedules the next run (STYLE R8).

export type Outcome =
  | { kind: "requeue"; afterMs: number; partial?: boolean } // waiting on health: look again soon
  | { kind: "retry"; error: unknown } // transient failure: exponential backoff with jitter
  | { kind: "resync"; afterMs: number; partial?: boolean } // done: come back at spec.interval
  // partial: a verified stage's objects are not all followed on this replica yet (its gate closed here)
  | { kind: "stalled" } // terminal: only a change wakes it
  | { kind: "forget" }; // the object is gone

export interface QueueOptions {
  concurrency: number;
  baseBackoffMs: number;
  maxBackoffMs: (key: string) => number;
  /** Random in [0, 1); injected so tests are deterministic. */
  random?: () => number;
  onError?: (key: string, err: unknown) => void;
}

interface Entry {
  timer?: NodeJS.Timeout;
  dueAt?: number;
  running: boolean;
  dirty: boolean;
  failures: number;
}

export class WorkQueue {
  private entries = new Map<string, Entry>();
  private ready: string[] = [];
  private queued = new Set<string>();
  private active = 0;
  private stopped = false;

  constructor(
    private readonly run: (key: string) => Promise<Outcome>,
    private readonly opts: QueueOptions,
  ) {}

  /** Run the key as soon as a slot is free; a key already running runs once more after. */
  add(key: string): void {
    const e = this.entry(key);
    if (e.running) {
      e.dirty = true;
      return;
    }
    this.clearTimer(e);
    this.enqueue(key);
  }

  /** Run the key after a delay, unless it is already due sooner. */
  addAfter(key: string, delayMs: number): void {
    const e = this.entry(key);
    const dueAt = Date.now() + delayMs;
    if (e.running || this.queued.has(key) || (e.dueAt !== undefined && e.dueAt <= dueAt)) return;
    this.schedule(key, e, delayMs);
  }

  /** Milliseconds until the key's next scheduled run, if any (for tests and status). */
  dueIn(key: string): number | undefined {
    const due = this.entries.get(key)?.dueAt;
    return due === undefined ? undefined : Math.max(0, due - Date.now());
  }

  /** Resolves once no key is running, or after timeoutMs. */
  async drained(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.active > 0 && Date.now() < deadline) await new Promise(ok => setTimeout(ok, 20));
  }

  get size(): number {
    return this.entries.size;
  }

  stop(): void {
    this.stopped = true;
    for (const e of this.entries.values()) this.clearTimer(e);
    this.ready = [];
    this.queued.clear();
  }

  private entry(key: string): Entry {
    let e = this.entries.get(key);
    if (!e) this.entries.set(key, (e = { running: false, dirty: false, failures: 0 }));
    return e;
  }

  private enqueue(key: string): void {
    if (this.stopped || this.queued.has(key)) return;
    this.queued.add(key);
    this.ready.push(key);
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.active < this.opts.concurrency && this.ready.length > 0) {
      const key = this.ready.shift()!;
      this.queued.delete(key);
      void this.runOne(key);
    }
  }

  private async runOne(key: string): Promise<void> {
    const e = this.entry(key);
    e.running = true;
    e.dirty = false;
    this.active++;
    let outcome: Outcome;
    try {
      outcome = await this.run(key);
    } catch (error) {
      outcome = { kind: "retry", error };
    }
    this.active--;
    e.running = false;
    this.settle(key, e, outcome);
    this.pump();
  }

  private settle(key: string, e: Entry, outcome: Outcome): void {
    if (outcome.kind === "retry") {
      this.opts.onError?.(key, outcome.error);
      e.failures++;
    } else if (outcome.kind !== "requeue") {
      e.failures = 0;
    }
    if (outcome.kind === "forget") {
      this.clearTimer(e);
      this.entries.delete(key);
      return;
    }
    if (e.dirty) return this.enqueue(key);
    if (outcome.kind === "retry") this.schedule(key, e, this.backoff(key, e.failures));
    else if (outcome.kind === "requeue" || outcome.kind === "resync") this.schedule(key, e, outcome.afterMs);
  }

  /** base * 2^(n-1), capped, with ±20% jitter so many failing StageSets do not retry in step. */
  private backoff(key: string, failures: number): number {
    const raw = Math.min(this.opts.baseBackoffMs * 2 ** Math.min(failures - 1, 30), this.opts.maxBackoffMs(key));
    const jitter = 0.8 + 0.4 * (this.opts.random ?? Math.random)();
    return Math.round(raw * jitter);
  }

  private schedule(key: string, e: Entry, delayMs: number): void {
    this.clearTimer(e);
    if (this.stopped) return;
    // A timer cannot wait longer than 2^31-1 ms (it would fire at once): a far wait (a window
    // that opens next month, a long soak) looks again within the hour, and waits on from there.
    delayMs = Math.min(delayMs, maxWaitMs);
    e.dueAt = Date.now() + delayMs;
    e.timer = setTimeout(() => {
      e.timer = undefined;
      e.dueAt = undefined;
      this.enqueue(key);
    }, delayMs);
    e.timer.unref?.();
  }

  private clearTimer(e: Entry): void {
    if (e.timer) clearTimeout(e.timer);
    e.timer = undefined;
    e.dueAt = undefined;
  }
}

/** The longest the queue waits before it looks at a key again. */
export const maxWaitMs = 60 * 60_000;
