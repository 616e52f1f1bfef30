// A compile-time guard on CEL `matches()`. @marcbachmann/cel-js runs it with JavaScript's
// backtracking RegExp, where `^(a+)+$` on 28 characters blocks the event loop for ~11 s
// (research/contracts.md §8.1) — the same loop that serves /gate. cel-go uses RE2.
import type { ASTNode } from "@marcbachmann/cel-js";

function isNode(v: unknown): v is ASTNode {
  return typeof v === "object" && v !== null && "op" in v && "args" in v;
}

/** Why a `matches()` in the expression is unsafe, or undefined when every pattern is safe. */
export function unsafeRegex(node: unknown): string | undefined {
  if (Array.isArray(node)) {
    for (const child of node) {
      const problem = unsafeRegex(child);
      if (problem) return problem;
    }
    return undefined;
  }
  if (!isNode(node)) return undefined;
  const pattern = matchesPattern(node);
  return (pattern === undefined ? undefined : patternProblem(pattern)) ?? unsafeRegex(node.args);
}

/** The pattern of `s.matches(p)`; null when missing. The library has no `matches(s, p)` form. */
function matchesPattern(node: ASTNode): ASTNode | null | undefined {
  return node.op === "rcall" && node.args[0] === "matches" ? (node.args[2][0] ?? null) : undefined;
}

function patternProblem(arg: ASTNode | null): string | undefined {
  if (arg?.op !== "value" || typeof arg.args !== "string") {
    return "matches() needs a string literal pattern, so that it can be checked before it runs";
  }
  const pattern = arg.args;
  try {
    new RegExp(pattern);
  } catch (e) {
    return `matches() pattern ${JSON.stringify(pattern)} is not a valid regular expression: ${(e as Error).message}`;
  }
  if (hasNestedRepetition(pattern)) {
    return `matches() pattern ${JSON.stringify(pattern)} repeats a group that itself repeats (like (a+)+), which can take exponential time`;
  }
  return undefined;
}

const repeats = (p: string, i: number) => p[i] === "*" || p[i] === "+" || (p[i] === "{" && /^\{\d+,?\d*\}/.test(p.slice(i)));

/** Star height above one: a repeated group whose body contains a repetition. */
export function hasNestedRepetition(p: string): boolean {
  const groups: boolean[] = []; // per open group: does its body repeat something?
  let closedRepeating = false; // the previous token is a group whose body repeats
  for (let i = 0; i < p.length; i++) {
    const ch = p[i];
    if (repeats(p, i)) {
      if (closedRepeating) return true;
      if (groups.length) groups[groups.length - 1] = true;
    }
    closedRepeating = false;
    if (ch === "\\") i++;
    else if (ch === "[") i = classEnd(p, i);
    else if (ch === "(") groups.push(false);
    else if (ch === ")") {
      closedRepeating = groups.pop() ?? false;
      if (closedRepeating && groups.length) groups[groups.length - 1] = true;
    }
  }
  return false;
}

/** Index of the `]` closing the character class that opens at `start`. */
function classEnd(p: string, start: number): number {
  let i = start + 1;
  if (p[i] === "^") i++;
  for (; i < p.length && p[i] !== "]"; i++) if (p[i] === "\\") i++;
  return i;
}
