// The gate's answer for every stage the overview shows, asked as Flagger and Argo Rollouts ask it
// (plain GET, the status code is the answer). The gate decides from its own watches (live
// health, published artifacts), so the view asks it rather than guessing from the status: soon
// after a StageSet changes, and again every sweep. Bounded: a few questions at a time, and when
// the gate does not answer, one question per sweep finds out whether it is back, not one per stage.
import { askGate } from "../gate";

export interface GateWatchOptions {
  gateUrl: string;
  /** The StageSet (namespace/name) whose answers changed. */
  changed(key: string): void;
  sweepMs?: number;
  concurrency?: number;
}

/** After a change the gate's own watch may lag the view's by a moment: asked at once, and again after this. */
const askAgainMs = 2_000;
const gateTimeoutMs = 2_000;

export class GateWatch {
  private readonly stages = new Map<string, string[]>();
  private readonly answers = new Map<string, number>();
  private readonly due: string[] = [];
  private readonly dueSet = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sweep: NodeJS.Timeout;
  private readonly stopping = new AbortController();
  private running = 0;
  private reachable = true;

  constructor(private readonly opts: GateWatchOptions) {
    this.sweep = setInterval(() => this.askAll(), opts.sweepMs ?? 15_000).unref();
  }

  /** The StageSet and its stages now; its stages are asked about at once and, after a change, again shortly after. */
  track(key: string, stages: string[]): void {
    const change = this.stages.has(key);
    this.stages.set(key, stages);
    this.ask(key);
    if (!change) return;
    const again = setTimeout(() => (this.timers.delete(again), this.ask(key)), askAgainMs).unref();
    this.timers.add(again);
  }

  untrack(key: string): void {
    for (const stage of this.stages.get(key) ?? []) this.answers.delete(`${key}/${stage}`);
    this.stages.delete(key);
  }

  /** The status the gate last answered for the stage; undefined when not asked yet or the gate did not answer. */
  answer(key: string, stage: string): number | undefined {
    return this.answers.get(`${key}/${stage}`);
  }

  stop(): void {
    this.stopping.abort();
    clearInterval(this.sweep);
    for (const t of this.timers) clearTimeout(t);
  }

  private askAll(): void {
    for (const key of this.stages.keys()) this.ask(key);
  }

  private ask(key: string): void {
    if (this.stopping.signal.aborted || this.dueSet.has(key)) return;
    this.dueSet.add(key);
    this.due.push(key);
    this.drain();
  }

  private drain(): void {
    // While the gate is not answering, one question at a time: the first answer lets the rest go.
    const limit = this.reachable ? (this.opts.concurrency ?? 8) : 1;
    while (this.running < limit && this.due.length > 0) {
      const key = this.due.shift()!;
      this.dueSet.delete(key);
      this.running++;
      void this.askStages(key).finally(() => {
        this.running--;
        this.drain();
      });
    }
  }

  private async askStages(key: string): Promise<void> {
    let changed = false;
    for (const stage of this.stages.get(key) ?? []) {
      const status = await askGate(this.opts.gateUrl, `${key}/${stage}`, { timeoutMs: gateTimeoutMs, signal: this.stopping.signal }).then(
        a => a.status,
        () => undefined,
      );
      if (this.stopping.signal.aborted || !this.stages.has(key)) return;
      if (status === undefined) return this.lost();
      this.reachable = true;
      if (this.answers.get(`${key}/${stage}`) !== status) changed = true;
      this.answers.set(`${key}/${stage}`, status);
    }
    if (changed) this.opts.changed(key);
  }

  /** The gate did not answer: every answer held is forgotten (an old "open" must not stand), and the rest of this sweep is dropped. */
  private lost(): void {
    this.reachable = false;
    this.due.length = 0;
    this.dueSet.clear();
    const keys = new Set([...this.answers.keys()].map(k => k.split("/").slice(0, 2).join("/")));
    this.answers.clear();
    for (const key of keys) this.opts.changed(key);
  }
}
