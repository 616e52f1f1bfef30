// Change windows as a user checks them: open or closed at an instant, the reason, and the exact
// opensAt/closesAt status shows (UTC); DST in America/New_York; the cron syntax; the problems
// admission reports with their field paths; the one-line message; bounded work.
import { describe, expect, it } from "vitest";
import { describeState, windowProblems, windowState, type ChangeWindow, type Freeze, type WindowState } from "./windows";

const allow = (schedule: string, duration: string, timeZone?: string): ChangeWindow => ({ kind: "allow", schedule, duration, ...(timeZone ? { timeZone } : {}) });
const deny = (schedule: string, duration: string, timeZone?: string): ChangeWindow => ({ kind: "deny", schedule, duration, ...(timeZone ? { timeZone } : {}) });
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString().replace(".000Z", "Z"));
const business = allow("0 9 * * MON-FRI", "8h", "Europe/Berlin");
const lunch = deny("0 12 * * *", "1h", "Europe/Berlin");
const ny = (schedule: string, duration: string) => [allow(schedule, duration, "America/New_York")];

type Row = { name: string; windows?: ChangeWindow[]; freeze?: Freeze; now: string; open: boolean; reason?: string; window?: number; opensAt?: string; closesAt?: string };

/** What status shows: open, reason, the entry named, and the next change. */
function check({ windows, freeze, now, open, reason, window, opensAt, closesAt }: Row): WindowState {
  const s = windowState(windows, freeze, Date.parse(now));
  expect({ open: s.open, reason: s.open ? undefined : s.reason, window: s.window }).toEqual({ open, reason, window });
  expect({ opensAt: iso(s.open ? undefined : s.opensAt), closesAt: iso(s.open ? s.closesAt : undefined) }).toEqual({ opensAt, closesAt });
  return s;
}

// 2026-12-02 is a Wednesday; Berlin is UTC+1 in December and UTC+2 in July.
describe("windowState: freeze, then deny windows, then allow windows", () => {
  it.each<Row>([
    { name: "no windows: open, nothing to close", now: "2026-12-02T10:00:00Z", open: true },
    { name: "an empty list: open", windows: [], now: "2026-12-02T10:00:00Z", open: true },
    { name: "a freeze closes even inside an allow window, with no opensAt", windows: [business], freeze: { reason: "audit" }, now: "2026-12-02T10:00:00Z", open: false, reason: "Frozen" },
    { name: "Berlin business hours, inside: closes at 17:00 Berlin", windows: [business], now: "2026-12-02T10:00:00Z", open: true, window: 0, closesAt: "2026-12-02T16:00:00Z" },
    { name: "Berlin business hours, evening: opens at 09:00 Berlin next day", windows: [business], now: "2026-12-02T17:30:00Z", open: false, reason: "OutsideWindow", window: 0, opensAt: "2026-12-03T08:00:00Z" },
    { name: "Berlin business hours, Friday at the end instant (exclusive): Monday", windows: [business], now: "2026-12-04T16:00:00Z", open: false, reason: "OutsideWindow", window: 0, opensAt: "2026-12-07T08:00:00Z" },
    { name: "Berlin business hours in summer time (UTC+2)", windows: [business], now: "2026-07-01T05:00:00Z", open: false, reason: "OutsideWindow", window: 0, opensAt: "2026-07-01T07:00:00Z" },
    { name: "a deny window overrides an open allow window, names the deny entry", windows: [business, lunch], now: "2026-12-02T11:30:00Z", open: false, reason: "OutsideWindow", window: 1, opensAt: "2026-12-02T12:00:00Z" },
    { name: "inside the allow window before a deny: closes when the deny starts", windows: [business, lunch], now: "2026-12-02T10:00:00Z", open: true, window: 0, closesAt: "2026-12-02T11:00:00Z" },
    { name: "a deny that outlasts the allow window: opens at the next allow start", windows: [allow("0 9 * * MON-FRI", "8h"), deny("0 16 * * *", "2h")], now: "2026-12-02T16:30:00Z", open: false, reason: "OutsideWindow", window: 1, opensAt: "2026-12-03T09:00:00Z" },
    { name: "a deny spanning midnight, before midnight", windows: [deny("0 22 * * *", "4h")], now: "2026-12-02T23:30:00Z", open: false, reason: "OutsideWindow", window: 0, opensAt: "2026-12-03T02:00:00Z" },
    { name: "a deny spanning midnight, started the day before", windows: [deny("0 22 * * *", "4h")], now: "2026-12-03T01:00:00Z", open: false, reason: "OutsideWindow", window: 0, opensAt: "2026-12-03T02:00:00Z" },
    { name: "deny windows only, none open: open until the next one", windows: [deny("0 22 * * *", "4h")], now: "2026-12-03T12:00:00Z", open: true, closesAt: "2026-12-03T22:00:00Z" },
    { name: "overlapping deny windows: opens after both", windows: [deny("0 22 * * *", "4h"), deny("0 1 * * *", "3h")], now: "2026-12-02T23:00:00Z", open: false, reason: "OutsideWindow", window: 0, opensAt: "2026-12-03T04:00:00Z" },
    { name: "two allow entries: the one that opens first is named", windows: [business, allow("0 6 * * SAT", "4h")], now: "2026-12-04T20:00:00Z", open: false, reason: "OutsideWindow", window: 1, opensAt: "2026-12-05T06:00:00Z" },
    { name: "allow windows back to back close at the end of the second", windows: [allow("0 8 * * *", "2h"), allow("0 10 * * *", "2h")], now: "2026-12-02T09:00:00Z", open: true, window: 0, closesAt: "2026-12-02T12:00:00Z" },
    { name: "an allow schedule that never matches (Feb 30): no opensAt", windows: [allow("0 0 30 2 *", "1h")], now: "2026-12-02T00:00:00Z", open: false, reason: "OutsideWindow", window: 0 },
    { name: "an invalid entry fails closed, naming it", windows: [business, allow("0 9 * *", "8h")], now: "2026-12-02T10:00:00Z", open: false, reason: "InvalidSpec", window: 1 },
  ])("$name", row => void check(row));
});

// New York 2026: 02:00 EST becomes 03:00 EDT on 8 March; 02:00 EDT becomes 01:00 EST on 1 November.
describe("windowState: DST in America/New_York", () => {
  it.each<Row>([
    { name: "spring forward: 02:30 does not occur on 8 March, so the next start is 9 March", windows: ny("30 2 * * *", "1h"), now: "2026-03-08T06:00:00Z", open: false, reason: "OutsideWindow", window: 0, opensAt: "2026-03-09T06:30:00Z" },
    { name: "spring forward: 09:00 is already EDT", windows: ny("0 9 * * *", "8h"), now: "2026-03-08T12:00:00Z", open: false, reason: "OutsideWindow", window: 0, opensAt: "2026-03-08T13:00:00Z" },
    { name: "spring forward: the duration is elapsed time (01:00 EST + 2h = 04:00 EDT)", windows: ny("0 1 * * *", "2h"), now: "2026-03-08T07:30:00Z", open: true, window: 0, closesAt: "2026-03-08T08:00:00Z" },
    { name: "fall back: 01:30 starts at its first occurrence (EDT)", windows: ny("30 1 * * *", "1h"), now: "2026-11-01T04:00:00Z", open: false, reason: "OutsideWindow", window: 0, opensAt: "2026-11-01T05:30:00Z" },
    { name: "fall back: still open at 01:00 EST, closes an hour after the first 01:30", windows: ny("30 1 * * *", "1h"), now: "2026-11-01T06:00:00Z", open: true, window: 0, closesAt: "2026-11-01T06:30:00Z" },
    { name: "fall back: the second 01:30 (EST) is not a start", windows: ny("30 1 * * *", "1h"), now: "2026-11-01T06:45:00Z", open: false, reason: "OutsideWindow", window: 0, opensAt: "2026-11-02T06:30:00Z" },
    { name: "fall back: 09:00 is EST again", windows: ny("0 9 * * *", "8h"), now: "2026-11-01T12:00:00Z", open: false, reason: "OutsideWindow", window: 0, opensAt: "2026-11-01T14:00:00Z" },
  ])("$name", row => void check(row));
});

// UTC; Wednesday 2026-12-02 12:00 unless the row says otherwise.
describe("windowState: cron syntax", () => {
  const row = (name: string, schedule: string, duration: string, want: { now?: string; opensAt?: string; closesAt?: string }): Row => ({ name, windows: [allow(schedule, duration)], now: want.now ?? "2026-12-02T12:00:00Z", open: want.closesAt !== undefined, reason: want.closesAt ? undefined : "OutsideWindow", window: 0, opensAt: want.opensAt, closesAt: want.closesAt });
  it.each<Row>([
    row("day-of-month OR day-of-week: Friday the 4th comes first", "0 0 13 * FRI", "24h", { opensAt: "2026-12-04T00:00:00Z" }),
    row("day-of-month OR day-of-week: Sunday the 13th also matches", "0 0 13 * FRI", "24h", { now: "2026-12-12T12:00:00Z", opensAt: "2026-12-13T00:00:00Z" }),
    row("day-of-month alone", "0 0 13 * *", "1h", { opensAt: "2026-12-13T00:00:00Z" }),
    row("day-of-week alone", "0 0 * * FRI", "1h", { opensAt: "2026-12-04T00:00:00Z" }),
    row("a step over * does not restrict (crontab(5)): odd days AND Friday", "0 0 */2 * FRI", "1h", { opensAt: "2026-12-11T00:00:00Z" }),
    row("a stepped range 10-40/10, inside the :40 window", "10-40/10 * * * *", "5m", { now: "2026-12-02T12:41:00Z", closesAt: "2026-12-02T12:45:00Z" }),
    row("a stepped range 10-40/10, after :40 comes :10", "10-40/10 * * * *", "5m", { now: "2026-12-02T12:46:00Z", opensAt: "2026-12-02T13:10:00Z" }),
    row("*/15", "*/15 * * * *", "1m", { now: "2026-12-02T12:16:00Z", opensAt: "2026-12-02T12:30:00Z" }),
    row("5/20 is 5-59/20", "5/20 * * * *", "1m", { now: "2026-12-02T12:06:00Z", opensAt: "2026-12-02T12:25:00Z" }),
    row("an hour range with a step: 9, 13, 17", "0 9-17/4 * * *", "1h", { opensAt: "2026-12-02T13:00:00Z" }),
    row("a list", "0 6,18 * * *", "1h", { opensAt: "2026-12-02T18:00:00Z" }),
    row("month and weekday names, any case", "0 0 * JAN,jul sat", "1h", { opensAt: "2027-01-02T00:00:00Z" }),
    row("a range of month names", "0 0 1 MAR-MAY *", "1h", { opensAt: "2027-03-01T00:00:00Z" }),
    row("7 is Sunday", "0 0 * * 7", "1h", { opensAt: "2026-12-06T00:00:00Z" }),
    row("0 is Sunday", "0 0 * * 0", "1h", { opensAt: "2026-12-06T00:00:00Z" }),
    row("FRI-7 runs through Sunday", "0 0 * * FRI-7", "1h", { now: "2026-12-05T12:00:00Z", opensAt: "2026-12-06T00:00:00Z" }),
  ])("$name", r => void check(r));
});

describe("windowProblems: every problem with its field path", () => {
  const w = (over: Record<string, unknown>) => ({ kind: "allow", schedule: "0 9 * * MON-FRI", duration: "8h", ...over });
  const schedule = (s: string, message: string) => ({ name: `schedule ${JSON.stringify(s)}`, windows: [w({ schedule: s })], freeze: undefined, problems: [["spec.windows[0].schedule", message]] });
  it.each<{ name: string; windows: unknown; freeze: unknown; problems: string[][] }>([
    { name: "valid windows and freeze", windows: [business, lunch, w({ duration: "744h", timeZone: "America/New_York" })], freeze: { reason: "audit" }, problems: [] },
    { name: "neither set", windows: undefined, freeze: undefined, problems: [] },
    { name: "windows not a list", windows: { kind: "allow" }, freeze: undefined, problems: [["spec.windows", "must be a list of windows"]] },
    { name: "32 windows", windows: Array.from({ length: 32 }, () => w({})), freeze: undefined, problems: [] },
    { name: "33 windows", windows: Array.from({ length: 33 }, () => w({})), freeze: undefined, problems: [["spec.windows", "has 33 entries; at most 32 are allowed"]] },
    { name: "an entry that is not an object", windows: [business, "0 9 * * *"], freeze: undefined, problems: [["spec.windows[1]", "must be an object with kind, schedule and duration"]] },
    { name: "kind neither allow nor deny", windows: [w({ kind: "permit" })], freeze: undefined, problems: [["spec.windows[0].kind", '"permit" is neither allow nor deny']] },
    { name: "every problem of one entry at once", windows: [{ timeZone: "Europe/Atlantis" }], freeze: undefined, problems: [["spec.windows[0].kind", "is required: allow or deny"], ["spec.windows[0].schedule", 'is required: 5 cron fields, like "0 9 * * MON-FRI"'], ["spec.windows[0].duration", '"" is not a duration (like 90m, 8h or 1h30m)'], ["spec.windows[0].timeZone", '"Europe/Atlantis" is not a known IANA time zone (like Europe/Berlin or UTC)']] },
    schedule("0 0 9 * * MON", '"0 0 9 * * MON" has 6 fields; want 5 (minute hour day-of-month month day-of-week)'),
    schedule("@daily", '"@daily": macros are not supported; write the 5 fields (for @daily, "0 0 * * *")'),
    schedule("60 9 * * *", 'minute field "60": 60 is out of range 0-59'),
    schedule("0 24 * * *", 'hour field "24": 24 is out of range 0-23'),
    schedule("0 9 0 * *", 'day-of-month field "0": 0 is out of range 1-31'),
    schedule("0 9 * JANUARY *", 'month field "JANUARY": "JANUARY" is not a number or a name (JAN-DEC)'),
    schedule("0 9 * * MON,FOO", 'day-of-week field "MON,FOO": "FOO" is not a number or a name (SUN-SAT)'),
    schedule("0 9 * * 8", 'day-of-week field "8": 8 is out of range 0-7'),
    schedule("*/0 9 * * *", 'minute field "*/0": step "0" is not a whole number of at least 1'),
    schedule("0 17-9 * * *", 'hour field "17-9": range "17-9" runs backwards'),
    schedule("0 9 * * FRI-SUN", 'day-of-week field "FRI-SUN": range "FRI-SUN" runs backwards (Sunday is also 7, as in FRI-7)'),
    schedule("0 9,,10 * * *", 'hour field "9,,10": an empty list item'),
    schedule("0 0 30 2 *", '"0 0 30 2 *" never matches: its days of the month do not occur in its months'),
    { name: "an empty time zone", windows: [w({ timeZone: "" })], freeze: undefined, problems: [["spec.windows[0].timeZone", '"" is not a known IANA time zone (like Europe/Berlin or UTC)']] },
    { name: "a duration in words", windows: [w({ duration: "8 hours" })], freeze: undefined, problems: [["spec.windows[0].duration", '"8 hours" is not a duration (like 90m, 8h or 1h30m)']] },
    { name: "days are not a duration unit", windows: [w({ duration: "1d" })], freeze: undefined, problems: [["spec.windows[0].duration", '"1d" is not a duration (like 90m, 8h or 1h30m)']] },
    { name: "a zero duration", windows: [w({ duration: "0s" })], freeze: undefined, problems: [["spec.windows[0].duration", '"0s" is shorter than 1m, the shortest window']] },
    { name: "a window shorter than a minute", windows: [w({ duration: "59s" })], freeze: undefined, problems: [["spec.windows[0].duration", '"59s" is shorter than 1m, the shortest window']] },
    { name: "a duration over the cap", windows: [w({ duration: "745h" })], freeze: undefined, problems: [["spec.windows[0].duration", '"745h" is longer than 744h (31 days), the longest window']] },
    { name: "a freeze without a reason", windows: undefined, freeze: {}, problems: [["spec.freeze.reason", "is required: say why changes are frozen"]] },
    { name: "a blank freeze reason", windows: undefined, freeze: { reason: "  " }, problems: [["spec.freeze.reason", "is required: say why changes are frozen"]] },
    { name: "a 1024-character freeze reason", windows: undefined, freeze: { reason: "x".repeat(1024) }, problems: [] },
    { name: "a 1025-character freeze reason", windows: undefined, freeze: { reason: "x".repeat(1025) }, problems: [["spec.freeze.reason", "is 1025 characters long; at most 1024 are allowed"]] },
  ])("$name", ({ windows, freeze, problems }) => {
    expect(windowProblems(windows, freeze).map(p => [p.path, p.message])).toEqual(problems);
  });
});

describe("describeState: one line for status and events", () => {
  it.each<Row & { line: string }>([
    { name: "outside", windows: [business], now: "2026-12-02T20:00:00Z", open: false, reason: "OutsideWindow", window: 0, opensAt: "2026-12-03T08:00:00Z", line: 'outside the change windows (spec.windows[0] allow "0 9 * * MON-FRI" 8h Europe/Berlin); opens at 2026-12-03T08:00:00Z' },
    { name: "inside", windows: [business], now: "2026-12-02T10:00:00Z", open: true, window: 0, closesAt: "2026-12-02T16:00:00Z", line: 'inside the change windows (spec.windows[0] allow "0 9 * * MON-FRI" 8h Europe/Berlin); closes at 2026-12-02T16:00:00Z' },
    { name: "a deny window", windows: [business, lunch], now: "2026-12-02T11:30:00Z", open: false, reason: "OutsideWindow", window: 1, opensAt: "2026-12-02T12:00:00Z", line: 'inside a deny window (spec.windows[1] deny "0 12 * * *" 1h Europe/Berlin); opens at 2026-12-02T12:00:00Z' },
    { name: "frozen", freeze: { reason: "audit week" }, now: "2026-12-02T10:00:00Z", open: false, reason: "Frozen", line: "frozen: audit week; opens when spec.freeze is removed" },
    { name: "never opens", windows: [allow("0 0 30 2 *", "1h")], now: "2026-12-02T10:00:00Z", open: false, reason: "OutsideWindow", window: 0, line: 'outside the change windows (spec.windows[0] allow "0 0 30 2 *" 1h UTC); does not open within 366 days' },
    { name: "invalid", windows: [allow("0 9 * * MON-FRI", "8h", "Mars/Base")], now: "2026-12-02T10:00:00Z", open: false, reason: "InvalidSpec", window: 0, line: 'invalid change window: spec.windows[0].timeZone: "Mars/Base" is not a known IANA time zone (like Europe/Berlin or UTC)' },
    { name: "no windows", now: "2026-12-02T10:00:00Z", open: true, line: "no change windows" },
  ])("$name", ({ line, ...row }) => {
    expect(describeState(check(row))).toBe(line);
  });
});

// A sanity check, not a benchmark: every reconcile calls windowState, so a typical call must
// stay far below a millisecond, and schedules that flip every minute must still end quickly.
describe("windowState: bounded work", () => {
  const start = Date.parse("2026-12-02T10:00:00Z");
  it("a typical call (Berlin business hours and a deny window) takes well under a millisecond", () => {
    const t0 = performance.now();
    for (let i = 0; i < 500; i++) windowState([business, lunch], undefined, start + i * 7 * 60_000);
    expect((performance.now() - t0) / 500).toBeLessThan(1);
  });
  it.each([
    { name: "a deny window every minute of a year (New York, two DST changes)", windows: [deny("* * * * *", "1m", "America/New_York")] },
    { name: "allow and deny on the same minutes: never open, thousands of boundaries", windows: [allow("*/2 * * * *", "1m"), deny("*/2 * * * *", "1m")] },
    { name: "a daylong deny and 31 allow windows every other minute in eight zones", windows: [deny("0 0 * * *", "1439m"), ...["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "America/Santiago", "Asia/Tehran", "Pacific/Chatham", "Europe/London", "America/Havana"].flatMap(z => [1, 2, 3, 4].map(() => allow("*/2 * * * *", "1m", z))).slice(0, 31)] },
    { name: "an allow window every minute of a year", windows: [allow("* * * * *", "1m", "UTC")] },
  ])("worst case: $name", ({ windows }) => {
    const t0 = performance.now();
    windowState(windows, undefined, start);
    // Loose: the machine may be busy; a pathological spec took seconds before windows had a 1m floor.
    expect(performance.now() - t0).toBeLessThan(400);
  });
});
