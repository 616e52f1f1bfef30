// Whether a replica's view is whole, for its readiness probe: every StageSet that existed when
// it started has been followed (or reconciled) whole once: read, and every verified stage's
// objects followed. Until then its gate may answer 403 for a stage another replica answers 200
// for, so the gate Service must not send it requests yet. Keys done before the list came back
// count too.
export class InitialSync {
  /** Listed and not done yet; undefined until the list came back. */
  private pending?: Set<string>;
  /** Done before the list came back. */
  private early = new Set<string>();

  /** When the list came back. */
  listedAt?: number;

  /** The StageSets there were at start, listed at `at`. */
  listed(keys: Iterable<string>, at: number): void {
    if (this.pending) return;
    this.listedAt = at;
    this.pending = new Set([...keys].filter(k => !this.early.has(k)));
    this.early.clear();
  }

  /** A StageSet was followed or reconciled once, or it is gone. */
  done(key: string): void {
    if (this.pending) this.pending.delete(key);
    else this.early.add(key);
  }

  get complete(): boolean {
    return this.pending?.size === 0;
  }

  /** How many are left (undefined: not listed yet), for a log line. */
  get left(): number | undefined {
    return this.pending?.size;
  }
}
