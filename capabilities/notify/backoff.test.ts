// When a notification is tried again: exponential backoff, capped, and Retry-After.
import { describe, expect, it } from "vitest";
import { retryAfterMs, retryDelayMs } from "./index";

const backoff = { baseMs: 1_000, maxMs: 30_000 };

describe("retryDelayMs", () => {
  it.each([
    { name: "after the first failure", failed: 1, retryAfter: undefined, jitter: 0, ms: 1_000 },
    { name: "after the second", failed: 2, retryAfter: undefined, jitter: 0, ms: 2_000 },
    { name: "after the fourth", failed: 4, retryAfter: undefined, jitter: 0, ms: 8_000 },
    { name: "capped", failed: 10, retryAfter: undefined, jitter: 0, ms: 30_000 },
    { name: "with the most jitter", failed: 2, retryAfter: undefined, jitter: 0.999, ms: 2_200 },
    { name: "jitter still capped", failed: 10, retryAfter: undefined, jitter: 0.999, ms: 30_000 },
    { name: "Retry-After replaces the backoff", failed: 1, retryAfter: 5_000, jitter: 0.5, ms: 5_000 },
    { name: "a shorter Retry-After too", failed: 4, retryAfter: 0, jitter: 0, ms: 0 },
    { name: "Retry-After capped", failed: 1, retryAfter: 3_600_000, jitter: 0, ms: 30_000 },
  ])("$name", ({ failed, retryAfter, jitter, ms }) => {
    expect(retryDelayMs(failed, backoff, retryAfter, jitter)).toBe(ms);
  });
});

describe("retryAfterMs", () => {
  it.each([
    { name: "seconds", header: "3", ms: 3_000 },
    { name: "seconds with spaces", header: " 12 ", ms: 12_000 },
    { name: "the first of repeated headers", header: ["2", "9"], ms: 2_000 },
    { name: "absent", header: undefined, ms: undefined },
    { name: "an HTTP date", header: "Wed, 21 Oct 2015 07:28:00 GMT", ms: undefined },
    { name: "negative", header: "-1", ms: undefined },
    { name: "a fraction", header: "1.5", ms: undefined },
  ])("$name", ({ header, ms }) => {
    expect(retryAfterMs(header)).toBe(ms);
  });
});
