// The gate's answer for every stage the overview shows, asked as Flagger and Argo Rollouts ask it
// (plain GET, the status code is the answer). The gate decides from its own watches (live
// health, published artifacts), so the view asks it rather than guessing from the status.
//
// A StageSet that changed is asked first (and again 2 s later: the gate's own watch may lag the
// view's); every StageSet is asked again in a sweep that starts 15 s after the last one ended.
// At most 8 StageSets are asked at once, each one's stages one after another, and one StageSet
// is never asked twice at once. After 3 failures in a row (no answer within 2 s, refused, reset)
// every answer is forgotten (an old "open" must not stand) and StageSets are asked one at a time
// until the gate answers again.
import { askGate } from "../gate";
import { gateTimeoutMs } from "./detail";

export interface GateWatchOptions {
  gateUrl: string;
  /** The StageSet (namespace/name) whose answers changed. */
  changed(key: string): void;
  sweepMs?: number;
  askAgainMs?: number;
  concurrency?: number;
}

const failuresToLose = 3;

interface Tracked {
  stages: string[];
  version: string;
  answers: Map<string, number>;
  /** Bumped when the StageSet or the gate's state changes: an answer asked before is dropped. */
  generation: number;
  asking: boolean;
  /** Changed while being asked: asked again once the question under way ends. */
  again: boolean;
}

export class GateWatch {
  private readonly tracked = new Map<string, Tracked>();
  // Sets keep their insertion order: first in, first asked; one entry per StageSet.
  private readonly urgent = new Set<string>();
  private readonly routine = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly stopping = new AbortController();
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweepScheduled = false;
  private running = 0;
  private failures = 0;

  constructor(private readonly opts: GateWatchOptions) {
    this.scheduleSweep();
  }

  /**
   * The StageSet as the informer holds it. A new version is asked about at once and, when
   * `recheck` (a change seen live, not the first listing), again shortly after; the same version
   * again (a relist) asks nothing.
   */
  track(key: string, stages: string[], version: string, recheck: boolean): void {
    const known = this.tracked.get(key);
    if (known && known.version === version && same(known.stages, stages)) return;
    const entry: Tracked = known ?? { stages, version, answers: new Map(), generation: 0, asking: false, again: false };
    entry.stages = stages;
    entry.version = version;
    entry.generation++;
    for (const stage of entry.answers.keys()) if (!stages.includes(stage)) entry.answers.delete(stage);
    this.tracked.set(key, entry);
    this.ask(key, this.urgent);
    if (!recheck) return;
    const again = setTimeout(() => (this.timers.delete(again), this.ask(key, this.urgent)), this.opts.askAgainMs ?? 2_000).unref();
    this.timers.add(again);
  }

  untrack(key: string): void {
    this.tracked.delete(key);
    this.urgent.delete(key);
    this.routine.delete(key);
  }

  /** The status the gate last answered for the stage; undefined when not asked yet or the gate is not answering. */
  answer(key: string, stage: string): number | undefined {
    return this.tracked.get(key)?.answers.get(stage);
  }

  stop(): void {
    this.stopping.abort();
    clearTimeout(this.sweepTimer);
    for (const t of this.timers) clearTimeout(t);
    this.urgent.clear();
    this.routine.clear();
  }

  private scheduleSweep(): void {
    this.sweepScheduled = true;
    this.sweepTimer = setTimeout(() => {
      this.sweepScheduled = false;
      for (const key of this.tracked.keys()) this.routine.add(key);
      this.drain();
    }, this.opts.sweepMs ?? 15_000).unref();
  }

  private ask(key: string, queue: Set<string>): void {
    const entry = this.tracked.get(key);
    if (!entry || this.stopping.signal.aborted) return;
    if (entry.asking) entry.again = true;
    else queue.add(key);
    this.drain();
  }

  private drain(): void {
    const limit = this.failures >= failuresToLose ? 1 : (this.opts.concurrency ?? 8);
    while (!this.stopping.signal.aborted && this.running < limit) {
      const key = first(this.urgent) ?? first(this.routine);
      if (key === undefined) break;
      this.urgent.delete(key);
      this.routine.delete(key);
      const entry = this.tracked.get(key);
      if (!entry) continue;
      entry.asking = true;
      this.running++;
      void this.askStages(key, entry).finally(() => {
        this.running--;
        entry.asking = false;
        if (entry.again && this.tracked.get(key) === entry) {
          entry.again = false;
          this.urgent.add(key);
        }
        this.drain();
      });
    }
    // The next sweep is counted from the end of this one, so sweeps never pile up on a slow gate.
    const idle = this.running === 0 && this.routine.size === 0 && this.urgent.size === 0;
    if (idle && !this.sweepScheduled && !this.stopping.signal.aborted) this.scheduleSweep();
  }

  private async askStages(key: string, entry: Tracked): Promise<void> {
    const generation = entry.generation;
    let changed = false;
    for (const stage of entry.stages) {
      const status = await askGate(this.opts.gateUrl, `${key}/${stage}`, { timeoutMs: gateTimeoutMs, signal: this.stopping.signal }).then(
        a => a.status,
        () => undefined,
      );
      // Asked before the StageSet changed, or before the gate was given up on: a newer question answers instead.
      if (this.stopping.signal.aborted || entry.generation !== generation || this.tracked.get(key) !== entry) return;
      if (status === undefined) {
        changed = entry.answers.size > 0;
        entry.answers.clear();
        this.failed();
        break;
      }
      this.failures = 0;
      if (entry.answers.get(stage) !== status) changed = true;
      entry.answers.set(stage, status);
    }
    if (changed) this.opts.changed(key);
  }

  /** Failures in a row: at the third every answer held is forgotten, and the routine sweep is dropped until the next. */
  private failed(): void {
    if (++this.failures !== failuresToLose) return;
    this.routine.clear();
    for (const [key, entry] of this.tracked) {
      entry.generation++;
      if (entry.answers.size === 0) continue;
      entry.answers.clear();
      this.opts.changed(key);
    }
  }
}

const first = (set: Set<string>): string | undefined => set.values().next().value;
const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
