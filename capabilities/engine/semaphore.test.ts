import { describe, expect, it } from "vitest";
import { Semaphore } from "./semaphore";

describe("Semaphore", () => {
  it("never lets more than its limit run, hands each freed slot to the next in order, and frees slots on failure", async () => {
    const gate = new Semaphore(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const job = (i: number) =>
      gate.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise(ok => setTimeout(ok, 5));
        order.push(i);
        running--;
        if (i === 3) throw new Error("boom");
        return i;
      });
    const results = await Promise.allSettled([1, 2, 3, 4, 5, 6].map(job));
    expect(peak).toBe(2);
    expect(order).toEqual([1, 2, 3, 4, 5, 6]);
    expect(results.filter(r => r.status === "rejected")).toHaveLength(1);
    expect(await gate.run(async () => "still usable")).toBe("still usable");
  });
});
