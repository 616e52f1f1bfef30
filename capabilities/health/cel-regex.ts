// CEL's matches() in linear time. CEL specifies RE2 syntax and semantics, and the library
// runs matches() with JavaScript's backtracking RegExp, where `^(a|a)+$` takes exponential time
// on the event loop that also serves the gate. So every `x.matches("p")` is rewritten, before
// it is compiled, to `x.re2Matches("p")`, a function of ours backed by RE2JS (a port of RE2:
// linear in the input, whatever the pattern). Patterns must be string literals, so each one is
// compiled, and refused with RE2's own message, when the expression is.
import type { ASTNode } from "@marcbachmann/cel-js";
import { RE2JS } from "re2js";

export const re2Function = "re2Matches";

interface Located {
  op: string;
  args: unknown;
  start?: number;
  end?: number;
}

/** A node of the library's AST (an object with op and args), as every walk over it needs to tell. */
export const isAstNode = (v: unknown): v is Located & ASTNode => typeof v === "object" && v !== null && "op" in v && "args" in v;

const compiled = new Map<string, RE2JS>();

/** The RE2 program for a pattern (cached: patterns come from a few specs, not from objects). */
export function re2(pattern: string): RE2JS {
  let re = compiled.get(pattern);
  if (!re) {
    re = RE2JS.compile(pattern);
    if (compiled.size > 1_000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re;
}

/**
 * Linear in the input, but the constant is the program's size: counted repetitions multiply
 * it (`\pL{1000}` makes a thousand-state program). So the repetition counts of a pattern may
 * multiply to at most this, and the text matched may be at most maxInput characters: together
 * they bound one matches() to milliseconds, whatever a tenant writes.
 */
export const maxRepetition = 100;
export const maxInput = 16 * 1024;

/** RE2's find semantics, as CEL's matches(): true when the pattern matches any substring. */
export function re2Matches(text: string, pattern: string): boolean {
  if (text.length > maxInput) throw new Error(`matches() on ${text.length} characters: over the ${maxInput}-character limit`);
  return re2(pattern).matcher(text).find();
}

/** Why the pattern's counted repetitions make too large a program, if they do. */
export function repetitionProblem(pattern: string): string | undefined {
  let product = 1;
  for (const m of pattern.matchAll(/(?<!\\)\{(\d+)(?:,(\d*))?\}/g)) product *= Math.max(Number(m[1]), m[2] ? Number(m[2]) : 0, 1);
  return product > maxRepetition ? `matches() pattern ${JSON.stringify(pattern)} repeats ${product > 1e12 ? "more than 10^12" : product} times in all (its counted repetitions multiplied); at most ${maxRepetition}` : undefined;
}

/**
 * The source with every `.matches(` call renamed to the RE2 function, using the positions the
 * parser gives (so a string that merely contains ".matches(" is left alone). Throws with RE2's
 * message when a literal pattern is not valid RE2 syntax.
 */
export function withLinearRegex(source: string, ast: unknown): string {
  const edits: { from: number; to: number }[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!isAstNode(node)) return;
    if (node.op === "rcall" && Array.isArray(node.args) && node.args[0] === "matches") {
      const receiver = node.args[1] as Located;
      const pattern = (node.args[2] as Located[])[0];
      if (pattern?.op === "value" && typeof pattern.args === "string") {
        try {
          re2(pattern.args);
        } catch (e) {
          throw new Error(`matches() pattern ${JSON.stringify(pattern.args)} is not a valid RE2 regular expression: ${(e as Error).message}`, { cause: e });
        }
      }
      if (receiver?.end === undefined || pattern?.start === undefined) throw new Error("cannot rewrite matches(): the parser gave no position");
      edits.push({ from: receiver.end, to: pattern.start });
    }
    walk(node.args);
  };
  walk(ast);
  let out = source;
  for (const { from, to } of edits.sort((a, b) => b.from - a.from)) {
    const call = out.slice(from, to);
    if (!/^\s*\.\s*matches\s*\(\s*$/.test(call)) throw new Error(`cannot rewrite matches() at offset ${from}`);
    out = `${out.slice(0, from)}.${re2Function}(${out.slice(to)}`;
  }
  return out;
}

/** Whether any `x.matches(...)` call is left in the AST. */
export function callsMatches(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(callsMatches);
  if (!isAstNode(node)) return false;
  return (node.op === "rcall" && Array.isArray(node.args) && node.args[0] === "matches") || callsMatches(node.args);
}
