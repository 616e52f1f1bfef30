// When to try a notification again. Pure: the caller passes the jitter in.

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/**
 * The wait after `failedAttempts` failures: base, 2·base, 4·base … plus up to 10% jitter, at
 * most max. A Retry-After from the receiver replaces it, also at most max: a receiver must not
 * be able to park a delivery (and its queue slot) for hours.
 */
export function retryDelayMs(failedAttempts: number, backoff: Backoff, retryAfterMs?: number, jitter = 0): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, backoff.maxMs);
  const exponential = backoff.baseMs * 2 ** Math.max(0, failedAttempts - 1);
  return Math.round(Math.min(exponential * (1 + 0.1 * jitter), backoff.maxMs));
}

/**
 * Retry-After in whole seconds, as milliseconds; undefined when absent or an HTTP date (a date
 * would need the receiver's clock to agree with ours, so our own backoff is used instead).
 */
export function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !/^\s*\d{1,9}\s*$/.test(value)) return undefined;
  return Number(value) * 1000;
}
