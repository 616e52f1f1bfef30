// At most `limit` holders at once; the others wait their turn in order. Bounds how much work
// of one kind (downloads, decompression) runs at the same moment, whatever tenants publish.
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>(ok => this.waiting.push(ok)); // the slot is handed over, never re-counted
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
