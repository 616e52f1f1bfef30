// Change windows and freezes: whether a StageSet may start a new run at an instant, when that
// next changes, and what admission rejects in spec.windows and spec.freeze. Schedules are cron
// read on the wall clock of each window's time zone. Pure: the caller passes `now`.
import { parseDuration, type ChangeWindow, type Freeze } from "../api";

export type { ChangeWindow, Freeze };

/** InvalidSpec: a window admission should have rejected (fail closed rather than guess). */
export type WindowReason = "Frozen" | "OutsideWindow" | "InvalidSpec";

/** Times are epoch milliseconds, like `now`. `window` is the index of the entry the message names. */
export type WindowState =
  | { open: true; message: string; window?: number; closesAt?: number }
  | { open: false; reason: WindowReason; message: string; window?: number; opensAt?: number };

export type WindowProblem = { path: string; message: string };

export const maxWindows = 32;
const maxFreezeReason = 1024;
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
// The cap bounds how far back a window that is open now may have started.
const maxDurationMs = 31 * DAY;
/** How far ahead opensAt and closesAt are looked for. */
export const searchHorizonMs = 366 * DAY;
// Boundaries crossed in one search: only schedules that flip every minute for days get near it.
const maxSteps = 10_000;

// ---- Cron fields

type Field = { name: string; min: number; max: number; names?: string[] };
const fields: Field[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"] },
  { name: "day-of-week", min: 0, max: 7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] },
];

interface Cron {
  dom: boolean[];
  month: boolean[];
  dow: boolean[];
  /** crontab(5): days match on day-of-month OR day-of-week only when both fields are restricted. */
  either: boolean;
  /** Runs of consecutive matching minutes of a day, [first, last]: the same on every matching day. */
  runs: [number, number][];
}

/** The parsed schedule, or what is wrong with it. */
function parseCron(schedule: string): Cron | string {
  const texts = schedule.trim().split(/\s+/);
  if (schedule.trim().startsWith("@")) return `${JSON.stringify(schedule)}: macros are not supported; write the 5 fields (for @daily, "0 0 * * *")`;
  if (texts.length !== 5) return `${JSON.stringify(schedule)} has ${texts.length} fields; want 5 (minute hour day-of-month month day-of-week)`;
  const sets: boolean[][] = [];
  for (const [i, f] of fields.entries()) {
    const set = parseField(texts[i]!, f);
    if (typeof set === "string") return set;
    sets.push(set);
  }
  const [minute, hour, dom, month, dow] = sets as [boolean[], boolean[], boolean[], boolean[], boolean[]];
  dow[0] ||= dow[7]!; // 7 is Sunday too
  // crontab(5): a field is restricted when it does not contain "*" (so "*/2" is not).
  return { dom, month, dow, either: !texts[2]!.includes("*") && !texts[4]!.includes("*"), runs: dayRuns(minute, hour) };
}

function parseField(text: string, f: Field): boolean[] | string {
  const on = new Array<boolean>(f.max + 1).fill(false);
  for (const item of text.split(",")) {
    const why = markItem(item, f, on);
    if (why) return `${f.name} field ${JSON.stringify(text)}: ${why}`;
  }
  return on;
}

/** Marks the values of one list item (`*`, `5`, `1-5`, `10-40/10`, `5/10`, a step over `*`); a problem, or undefined. */
function markItem(item: string, f: Field, on: boolean[]): string | undefined {
  if (item === "") return "an empty list item";
  const [range = "", step, extra] = item.split("/");
  if (extra !== undefined) return `${JSON.stringify(item)} has more than one step`;
  if (step !== undefined && !/^[1-9][0-9]*$/.test(step)) return `step ${JSON.stringify(step)} is not a whole number of at least 1`;
  let [lo, hi] = [f.min, f.max];
  if (range !== "*") {
    const [a = "", b, more] = range.split("-");
    if (more !== undefined) return `${JSON.stringify(range)} is not a range like 1-5`;
    const from = valueOf(a, f);
    // "5/10" means 5-max/10, as robfig/cron (Kubernetes CronJob) reads it.
    const to = b !== undefined ? valueOf(b, f) : step !== undefined ? f.max : from;
    if (typeof from === "string") return from;
    if (typeof to === "string") return to;
    if (from > to) return `range ${JSON.stringify(range)} runs backwards${f.names && to === 0 ? " (Sunday is also 7, as in FRI-7)" : ""}`;
    [lo, hi] = [from, to];
  }
  for (let v = lo; v <= hi; v += Number(step ?? 1)) on[v] = true;
  return undefined;
}

function valueOf(token: string, f: Field): number | string {
  const named = f.names?.indexOf(token.toUpperCase()) ?? -1;
  if (named >= 0) return named + f.min;
  if (!/^[0-9]+$/.test(token)) return `${JSON.stringify(token)} is not a number${f.names ? ` or a name (${f.names[0]}-${f.names.at(-1)})` : ""}`;
  const n = Number(token);
  return n < f.min || n > f.max ? `${n} is out of range ${f.min}-${f.max}` : n;
}

function dayRuns(minute: boolean[], hour: boolean[]): [number, number][] {
  const runs: [number, number][] = [];
  for (let m = 0; m < 24 * 60; m++) {
    if (!hour[Math.floor(m / 60)] || !minute[m % 60]) continue;
    const last = runs.at(-1);
    if (last && last[1] === m - 1) last[1] = m;
    else runs.push([m, m]);
  }
  return runs;
}

/** `day` is a local date as UTC midnight of the same calendar date. */
function dayMatches(c: Cron, day: number): boolean {
  const d = new Date(day);
  const dom = c.dom[d.getUTCDate()]!, dow = c.dow[d.getUTCDay()]!;
  return c.month[d.getUTCMonth() + 1]! && (c.either ? dom || dow : dom && dow);
}

/** A schedule whose days of the month never occur in its months (Feb 30); admission rejects it. */
function neverMatches(c: Cron): boolean {
  const longest = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return !c.either && !c.dom.some((on, d) => on && c.month.some((m, i) => m && d <= longest[i]!));
}

// ---- Time zones

// A formatter costs ~150 µs to build, and a zone's rules do not change while we run: keep them
// (bounded: admission sees whatever spellings users send).
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset at an instant (wall clock minus UTC, ms), or undefined for an unknown zone. */
function zoneOffset(zone: string): ((t: number) => number) | undefined {
  if (zone === "UTC") return () => 0;
  let f = formatters.get(zone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
    } catch {
      return undefined;
    }
    if (formatters.size >= 256) formatters.clear();
    formatters.set(zone, f);
  }
  const format = f;
  return t => {
    const p: Record<string, number> = {};
    for (const { type, value } of format.formatToParts(t)) p[type] = Number(value);
    return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) - Math.floor(t / 1000) * 1000;
  };
}

// ---- Windows as intervals of instants

interface Compiled {
  index: number;
  window: ChangeWindow;
  cron: Cron;
  ms: number;
  offset: (t: number) => number;
}
type Interval = { start: number; end: number };

/**
 * The window's intervals [start, end) in order, merged where they touch, from the local day
 * before `from` until starts pass `until`. A cursor: ask with non-decreasing t; each answer is
 * the interval holding t or the first after it.
 */
function cursor(c: Compiled, from: number, until: number): (t: number) => Interval | undefined {
  const raw = openings(c, from, until);
  let next = raw.next().value as Interval | undefined;
  let cur: Interval | undefined;
  return t => {
    while (!cur || cur.end <= t) {
      if (!next) return (cur = undefined);
      cur = { ...next };
      for (next = raw.next().value as Interval | undefined; next && next.start <= cur.end; next = raw.next().value as Interval | undefined) cur.end = Math.max(cur.end, next.end);
    }
    return cur;
  };
}

function* openings(c: Compiled, from: number, until: number): Generator<Interval> {
  // Offsets are looked at on a grid of days (14 h before each local midnight, the widest zone),
  // and a day whose neighbourhood shows one offset is converted by arithmetic. Assumes a zone
  // does not change its offset and back within three days.
  const grid = new Map<number, number>();
  const at = (day: number) => grid.get(day) ?? grid.set(day, c.offset(day - 14 * HOUR)).get(day)!;
  for (let day = Math.floor((from + c.offset(from)) / DAY) * DAY - DAY; day - 14 * HOUR <= until; day += DAY) {
    if (!dayMatches(c.cron, day)) continue;
    const before = at(day), after = at(day + 3 * DAY);
    const starts = before === after ? c.cron.runs.map(([a, b]): [number, number] => [day + a * MIN - before, day + b * MIN - before]) : shiftedRuns(c, day);
    // Starts a minute apart make one interval (a window lasts a minute at least).
    for (const [s0, s1] of starts) yield { start: s0, end: s1 + c.ms };
  }
}

/**
 * Start runs of a day with an offset change. DST: a wall-clock minute skipped by spring-forward
 * does not occur; one repeated by fall-back counts at its first occurrence only, so a window
 * starts once, as a person reading the schedule expects (and "* * * * *" with 1m skips the
 * repeated hour).
 */
function shiftedRuns(c: Compiled, day: number): [number, number][] {
  let lo = day - 14 * HOUR, hi = day + 3 * DAY - 14 * HOUR;
  const before = c.offset(lo);
  while (hi - lo > MIN) {
    const mid = lo + Math.floor((hi - lo) / 2 / MIN) * MIN;
    if (c.offset(mid) === before) lo = mid;
    else hi = mid;
  }
  const change = hi, after = c.offset(hi);
  const runs: [number, number][] = [];
  for (const [a, b] of c.cron.runs) {
    for (let m = a; m <= b; m++) {
      const wall = day + m * MIN;
      const s = wall - before < change ? wall - before : wall - after >= change ? wall - after : undefined;
      if (s === undefined) continue;
      const last = runs.at(-1);
      if (last && last[1] === s - MIN) last[1] = s;
      else runs.push([s, s]);
    }
  }
  return runs;
}

// ---- The decision

/** Whether a new run may start at `now`, and when that changes (within searchHorizonMs). */
export function windowState(windows: ChangeWindow[] | undefined, freeze: Freeze | undefined, now: number): WindowState {
  if (freeze) return { open: false, reason: "Frozen", message: `frozen: ${freeze.reason || "no reason given"}` };
  const compiled: Compiled[] = [];
  for (const [i, w] of (windows ?? []).entries()) {
    const c = compileWindow(w, i);
    if (Array.isArray(c)) return { open: false, reason: "InvalidSpec", window: i, message: `invalid change window: ${c[0]!.path}: ${c[0]!.message}` };
    compiled.push(c);
  }
  if (compiled.length === 0) return { open: true, message: "no change windows" };
  const until = now + searchHorizonMs;
  const open = compiled.map(c => ({ c, at: cursor(c, now - c.ms, until) }));
  const denies = open.filter(o => o.c.window.kind === "deny"), allows = open.filter(o => o.c.window.kind === "allow");
  const deny = denies.find(d => (d.at(now)?.start ?? Infinity) <= now);
  const allow = allows.find(a => (a.at(now)?.start ?? Infinity) <= now);
  if (deny || (allows.length > 0 && !allow)) {
    const next = nextOpen(denies, allows, now, until);
    const named = deny?.c ?? next?.allow ?? allows[0]!.c;
    const message = deny ? `inside a deny window (${describeWindow(named)})` : `outside the change windows (${describeWindow(named)})`;
    return { open: false, reason: "OutsideWindow", window: named.index, message, opensAt: next?.at };
  }
  const closesAt = nextClose(denies, allows, now, until);
  if (allow) return { open: true, window: allow.c.index, message: `inside the change windows (${describeWindow(allow.c)})`, closesAt };
  return { open: true, message: "outside the deny windows", closesAt };
}

type Cursor = { c: Compiled; at: (t: number) => Interval | undefined };

/** The end of the deny intervals holding t (the latest), or undefined when none does. */
function denyEnd(denies: Cursor[], t: number): number | undefined {
  let end: number | undefined;
  for (const d of denies) {
    const iv = d.at(t);
    if (iv && iv.start <= t && (end === undefined || iv.end > end)) end = iv.end;
  }
  return end;
}

/** The earliest instant >= now with no deny interval and, if there are allow entries, one allow interval. */
function nextOpen(denies: Cursor[], allows: Cursor[], now: number, until: number): { at: number; allow?: Compiled } | undefined {
  let t = now;
  for (let step = 0; step < maxSteps && t < until; step++) {
    const end = denyEnd(denies, t);
    if (end !== undefined) {
      t = end;
      continue;
    }
    if (allows.length === 0) return { at: t };
    let soonest = Infinity;
    for (const a of allows) {
      const iv = a.at(t);
      if (iv && iv.start <= t) return { at: t, allow: a.c };
      if (iv) soonest = Math.min(soonest, iv.start);
    }
    t = soonest;
  }
  return undefined;
}

/** The earliest instant > now (open) at which a deny interval starts or the allow intervals run out. */
function nextClose(denies: Cursor[], allows: Cursor[], now: number, until: number): number | undefined {
  let close = Math.min(...denies.map(d => d.at(now)?.start ?? Infinity));
  let t = now;
  for (let step = 0; allows.length > 0 && t < close; step++) {
    if (step >= maxSteps) return undefined;
    let end: number | undefined;
    for (const a of allows) {
      const iv = a.at(t);
      if (iv && iv.start <= t && (end === undefined || iv.end > end)) end = iv.end;
    }
    if (end === undefined) close = t;
    else t = end;
  }
  return close < until ? close : undefined;
}

// ---- Validation and messages

function compileWindow(w: unknown, index: number): Compiled | WindowProblem[] {
  const at = `spec.windows[${index}]`;
  if (typeof w !== "object" || w === null || Array.isArray(w)) return [{ path: at, message: "must be an object with kind, schedule and duration" }];
  const { kind, schedule, duration, timeZone = "UTC" } = w as Record<string, unknown>;
  const problems: WindowProblem[] = [];
  if (kind !== "allow" && kind !== "deny") problems.push({ path: `${at}.kind`, message: kind === undefined ? "is required: allow or deny" : `${JSON.stringify(kind)} is neither allow nor deny` });
  const cron = typeof schedule === "string" ? parseCron(schedule) : `is required: 5 cron fields, like "0 9 * * MON-FRI"`;
  if (typeof cron === "string") problems.push({ path: `${at}.schedule`, message: cron });
  const ms = typeof duration === "string" ? parseDuration(duration) : undefined;
  const shown = JSON.stringify(duration ?? "");
  if (ms === undefined) problems.push({ path: `${at}.duration`, message: `${shown} is not a duration (like 90m, 8h or 1h30m)` });
  // A minute at least: shorter windows do not merge into runs, and a tenant's many sub-minute
  // windows would make every evaluation walk one interval per minute.
  else if (ms < MIN) problems.push({ path: `${at}.duration`, message: `${shown} is shorter than 1m, the shortest window` });
  else if (ms > maxDurationMs) problems.push({ path: `${at}.duration`, message: `${shown} is longer than 744h (31 days), the longest window` });
  const offset = typeof timeZone === "string" ? zoneOffset(timeZone) : undefined;
  if (!offset) problems.push({ path: `${at}.timeZone`, message: `${JSON.stringify(timeZone)} is not a known IANA time zone (like Europe/Berlin or UTC)` });
  if (problems.length > 0 || typeof cron === "string" || !offset) return problems;
  return { index, window: w as ChangeWindow, cron, ms: ms!, offset };
}

/** Every problem in spec.windows and spec.freeze, each with its field path; for admission. */
export function windowProblems(windows: unknown, freeze: unknown): WindowProblem[] {
  const problems: WindowProblem[] = [];
  if (Array.isArray(windows) && windows.length > maxWindows) problems.push({ path: "spec.windows", message: `has ${windows.length} entries; at most ${maxWindows} are allowed` });
  else if (Array.isArray(windows)) {
    for (const [i, w] of windows.entries()) {
      const c = compileWindow(w, i);
      if (Array.isArray(c)) problems.push(...c);
      else if (neverMatches(c.cron)) problems.push({ path: `spec.windows[${i}].schedule`, message: `${JSON.stringify(c.window.schedule)} never matches: its days of the month do not occur in its months` });
    }
  } else if (windows !== undefined && windows !== null) problems.push({ path: "spec.windows", message: "must be a list of windows" });
  if (freeze === undefined || freeze === null) return problems;
  const reason = typeof freeze === "object" ? (freeze as Record<string, unknown>).reason : undefined;
  if (typeof reason !== "string" || reason.trim() === "") problems.push({ path: "spec.freeze.reason", message: "is required: say why changes are frozen" });
  else if (reason.length > maxFreezeReason) problems.push({ path: "spec.freeze.reason", message: `is ${reason.length} characters long; at most ${maxFreezeReason} are allowed` });
  return problems;
}

/** `spec.windows[0] allow "0 9 * * MON-FRI" 8h Europe/Berlin` */
function describeWindow(c: Compiled): string {
  const w = c.window;
  return `spec.windows[${c.index}] ${w.kind} ${JSON.stringify(w.schedule)} ${w.duration} ${w.timeZone ?? "UTC"}`;
}

/** RFC 3339 to the second, as Kubernetes writes times. */
export function formatInstant(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** One line for a condition message or an event. */
export function describeState(s: WindowState): string {
  if (s.open) return s.closesAt === undefined ? s.message : `${s.message}; closes at ${formatInstant(s.closesAt)}`;
  if (s.reason === "Frozen") return `${s.message}; opens when spec.freeze is removed`;
  if (s.reason === "InvalidSpec") return s.message;
  return s.opensAt === undefined ? `${s.message}; does not open within ${searchHorizonMs / DAY} days` : `${s.message}; opens at ${formatInstant(s.opensAt)}`;
}
