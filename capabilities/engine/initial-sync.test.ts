import { describe, expect, it } from "vitest";
import { InitialSync } from "./initial-sync";

describe("InitialSync", () => {
  const cases: { name: string; steps: (s: InitialSync) => void; complete: boolean }[] = [
    { name: "nothing listed yet", steps: () => {}, complete: false },
    { name: "listed none", steps: s => s.listed([], 0), complete: true },
    { name: "listed two, one done", steps: s => (s.listed(["a/x", "a/y"], 0), s.done("a/x")), complete: false },
    { name: "listed two, both done", steps: s => (s.listed(["a/x", "a/y"], 0), s.done("a/x"), s.done("a/y")), complete: true },
    { name: "done before the list came back counts", steps: s => (s.done("a/x"), s.listed(["a/x"], 0)), complete: true },
    { name: "one done early, another listed and pending", steps: s => (s.done("a/x"), s.listed(["a/x", "a/y"], 0)), complete: false },
    { name: "a key not listed (created later) does not hold it", steps: s => (s.listed(["a/x"], 0), s.done("a/x"), s.done("a/new")), complete: true },
    { name: "a second list does not reopen it", steps: s => (s.listed([], 0), s.listed(["a/x"], 0)), complete: true },
  ];
  it.each(cases)("$name", ({ steps, complete }) => {
    const s = new InitialSync();
    steps(s);
    expect(s.complete).toBe(complete);
  });
});
