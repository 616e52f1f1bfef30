// Keys of notifications delivered lately, so that a transition the engine observes twice
// (a requeue, a leader change) is sent once. Bounded in time and in size.

export class RecentKeys {
  // Insertion order is delivery order, so the oldest entry is always first.
  readonly #until = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly max: number,
    private readonly now: () => number,
  ) {}

  has(key: string): boolean {
    this.#expire();
    return this.#until.has(key);
  }

  add(key: string): void {
    this.#until.delete(key);
    this.#until.set(key, this.now() + this.windowMs);
    while (this.#until.size > this.max) this.#until.delete(this.#until.keys().next().value!);
  }

  #expire(): void {
    const now = this.now();
    for (const [key, until] of this.#until) {
      if (until > now) return;
      this.#until.delete(key);
    }
  }
}
