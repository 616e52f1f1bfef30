// Go-style durations as the CRD spells them ("10m", "1h30m", "500ms").

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const part = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/y;

/** Milliseconds, or undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (!text) return undefined;
  part.lastIndex = 0;
  let total = 0;
  while (part.lastIndex < text.length) {
    const m = part.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * unitMs[m[2]!]!;
  }
  return total;
}

/** The first field that parses, else the fallback. */
export function durationOr(fallbackMs: number, ...fields: (string | undefined)[]): number {
  for (const f of fields) {
    const ms = f === undefined ? undefined : parseDuration(f);
    if (ms !== undefined) return ms;
  }
  return fallbackMs;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return s ? `${m}m${s}s` : `${m}m`;
}
