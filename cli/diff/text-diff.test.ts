import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { editScript, maskSecrets, objectDiff, objectForDiff, unifiedDiff } from "./text-diff";

const text = (...lines: string[]) => lines.map(l => `${l}\n`).join("");
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

describe("unifiedDiff", () => {
  // Expected outputs are what GNU `diff -u` prints for the same inputs.
  it.each([
    { name: "equal texts", before: text("a", "b"), after: text("a", "b"), want: "" },
    { name: "one line replaced: single-line ranges drop their count", before: text("a"), after: text("b"), want: "--- live\n+++ merged\n@@ -1 +1 @@\n-a\n+b\n" },
    { name: "into an empty text: the empty side is numbered by the line before it", before: "", after: text("a", "b"), want: "--- live\n+++ merged\n@@ -0,0 +1,2 @@\n+a\n+b\n" },
    { name: "to an empty text", before: text("a", "b"), after: "", want: "--- live\n+++ merged\n@@ -1,2 +0,0 @@\n-a\n-b\n" },
    {
      name: "a change mid-file keeps three lines of context",
      before: text(...range(1, 10)),
      after: text(...range(1, 4), "five", ...range(6, 10)),
      want: "--- live\n+++ merged\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n",
    },
    {
      name: "an insertion after the last line",
      before: text(...range(1, 5)),
      after: text(...range(1, 5), "6"),
      want: "--- live\n+++ merged\n@@ -3,3 +3,4 @@\n 3\n 4\n 5\n+6\n",
    },
    {
      name: "changes six lines apart share one hunk",
      before: text(...range(1, 20)),
      after: text("1", "2", "x", ...range(4, 9), "y", ...range(11, 20)),
      want: `--- live\n+++ merged\n@@ -1,13 +1,13 @@\n 1\n 2\n-3\n+x\n${range(4, 9).map(l => ` ${l}\n`).join("")}-10\n+y\n 11\n 12\n 13\n`,
    },
    {
      name: "changes seven lines apart get a hunk each",
      before: text(...range(1, 20)),
      after: text("1", "2", "x", ...range(4, 10), "y", ...range(12, 20)),
      want: "--- live\n+++ merged\n@@ -1,6 +1,6 @@\n 1\n 2\n-3\n+x\n 4\n 5\n 6\n@@ -8,7 +8,7 @@\n 8\n 9\n 10\n-11\n+y\n 12\n 13\n 14\n",
    },
    {
      name: "beyond maxEdits the whole text is replaced",
      before: text("a", "b", "c"),
      after: text("x", "b", "y"),
      maxEdits: 2,
      want: "--- live\n+++ merged\n@@ -1,3 +1,3 @@\n-a\n-b\n-c\n+x\n+b\n+y\n",
    },
  ])("$name", ({ before, after, maxEdits, want }) => {
    expect(unifiedDiff(before, after, { maxEdits })).toBe(want);
  });

  it("finds a shortest edit script and its hunks rebuild the new text (seeded random cases)", () => {
    let seed = 42;
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let round = 0; round < 200; round++) {
      const a = Array.from({ length: random(30) }, () => `l${random(5)}`);
      const b = a.flatMap(l => [[], [l], [l], [l, `n${random(5)}`], [`c${random(3)}`]][random(5)]!);
      const edits = editScript(a, b, 1_000)!.filter(op => op.kind !== " ").length;
      expect(edits, `round ${round}`).toBe(a.length + b.length - 2 * lcs(a, b));
      const before = text(...a);
      const after = text(...b);
      expect(applyUnified(before, unifiedDiff(before, after)), `round ${round}`).toBe(after);
    }
  });
});

/** Length of a longest common subsequence, by the quadratic table: the minimality oracle. */
function lcs(a: string[], b: string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    let diagonal = 0;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = x === b[j - 1] ? diagonal + 1 : Math.max(row[j]!, row[j - 1]!);
      diagonal = up;
    }
  }
  return row[b.length]!;
}

/** Applies a unified diff the way patch(1) does, trusting the hunk headers' old-side line numbers. */
function applyUnified(before: string, diff: string): string {
  if (diff === "") return before;
  const old = before === "" ? [] : before.slice(0, -1).split("\n");
  const out: string[] = [];
  let next = 0;
  for (const line of diff.trimEnd().split("\n").slice(2)) {
    const header = /^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@$/.exec(line);
    if (header) {
      const start = header[2] === "0" ? Number(header[1]) : Number(header[1]) - 1;
      out.push(...old.slice(next, start));
      next = start;
    } else if (line[0] === " " || line[0] === "-") {
      expect(old[next]).toBe(line.slice(1));
      if (line[0] === " ") out.push(old[next]!);
      next++;
    } else out.push(line.slice(1));
  }
  out.push(...old.slice(next));
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}

describe("objectForDiff", () => {
  const live = {
    kind: "ConfigMap",
    apiVersion: "v1",
    metadata: {
      name: "web",
      namespace: "shop",
      labels: { z: "1", a: "2" },
      annotations: { note: "kept" },
      uid: "0d4c",
      resourceVersion: "812",
      generation: 3,
      creationTimestamp: "2025-01-01T00:00:00Z",
      selfLink: "/api/v1/namespaces/shop/configmaps/web",
      managedFields: [{ manager: "stageset-controller", operation: "Apply" }],
    },
    data: { long: "x".repeat(200), script: "echo one\necho two\n" },
    status: { observed: true },
  };

  it.each([
    { name: "server bookkeeping and status are dropped", path: ["metadata"], want: { name: "web", namespace: "shop", labels: { z: "1", a: "2" }, annotations: { note: "kept" } } },
    { name: "data is kept whole: long lines unfolded, multi-line values as written", path: ["data"], want: live.data },
    { name: "status is dropped", path: ["status"], want: undefined },
  ])("$name", ({ path, want }) => {
    const got = path.reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], parse(objectForDiff(live)));
    expect(got).toEqual(want);
  });

  it("sorts every map's keys, so the server's order and the manifest's never differ", () => {
    const yaml = objectForDiff(live);
    expect(yaml.split("\n").filter(l => /^\S/.test(l))).toEqual(["apiVersion: v1", "data:", "kind: ConfigMap", "metadata:"]);
    expect(yaml.indexOf("a: \"2\"")).toBeLessThan(yaml.indexOf("z: \"1\""));
    expect(yaml).toContain(`long: ${"x".repeat(200)}\n`);
    expect(yaml).toContain("script: |\n    echo one\n    echo two\n");
  });

  it("leaves its input alone, and gives nothing for no object", () => {
    const copy = structuredClone(live);
    objectForDiff(live);
    expect(live).toEqual(copy);
    expect(objectForDiff(undefined)).toBe("");
  });
});

describe("maskSecrets", () => {
  const secret = (data: Record<string, string>, field = "data") => ({ apiVersion: "v1", kind: "Secret", metadata: { name: "db" }, [field]: data });
  it.each([
    { name: "an unchanged key", before: secret({ k: "YQ==" }), after: secret({ k: "YQ==" }), from: { k: "***" }, to: { k: "***" } },
    { name: "a changed key says so on both sides", before: secret({ k: "YQ==" }), after: secret({ k: "Yg==" }), from: { k: "*** (before)" }, to: { k: "*** (after)" } },
    { name: "keys added and removed", before: secret({ old: "YQ==" }), after: secret({ new: "Yg==" }), from: { old: "***" }, to: { new: "***" } },
    { name: "a Secret being created", before: undefined, after: secret({ k: "YQ==" }), from: undefined, to: { k: "***" } },
    { name: "a Secret being deleted", before: secret({ k: "YQ==" }), after: undefined, from: { k: "***" }, to: undefined },
  ])("$name", ({ before, after, from, to }) => {
    const [masked, maskedAfter] = maskSecrets(before, after);
    expect(masked?.data).toEqual(from);
    expect(maskedAfter?.data).toEqual(to);
  });

  it("masks stringData too, and leaves other kinds alone", () => {
    const [, after] = maskSecrets(undefined, secret({ password: "hunter2" }, "stringData"));
    expect(after?.stringData).toEqual({ password: "***" });
    const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { k: "v" } };
    expect(maskSecrets(cm, cm)).toEqual([cm, cm]);
  });

  it("never prints a Secret's value in a diff", () => {
    const diff = objectDiff(secret({ password: "aHVudGVyMg==" }), secret({ password: "c2VjcmV0" }));
    expect(diff).toContain("-  password: \"*** (before)\"");
    expect(diff).toContain("+  password: \"*** (after)\"");
    expect(diff).not.toMatch(/aHVudGVyMg|c2VjcmV0/);
  });
});
