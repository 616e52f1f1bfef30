// A compile-time check of CEL `matches()`: its pattern must be a string literal in RE2 syntax
// (CEL's own), so that it can be compiled, checked and rewritten to our linear-time RE2
// function (cel-regex.ts) before anything runs. A pattern built at run time could not be.
import type { ASTNode } from "@marcbachmann/cel-js";
import { isAstNode, re2, re2Function, repetitionProblem } from "./cel-regex";

/** Why a `matches()` in the expression cannot be used, or undefined when every pattern is fine. */
export function unsafeRegex(node: unknown): string | undefined {
  if (Array.isArray(node)) {
    for (const child of node) {
      const problem = unsafeRegex(child);
      if (problem) return problem;
    }
    return undefined;
  }
  if (!isAstNode(node)) return undefined;
  // Ours only: called directly, it would take a pattern built at run time.
  if (node.op === "rcall" && node.args[0] === re2Function) return `${re2Function}() is not a CEL function; use matches()`;
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
  try {
    re2(arg.args);
  } catch (e) {
    return `matches() pattern ${JSON.stringify(arg.args)} is not a valid RE2 regular expression: ${(e as Error).message}`;
  }
  return repetitionProblem(arg.args);
}
