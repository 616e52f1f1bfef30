// A bound on what one CEL evaluation may cost, so that no expression a tenant writes can hold
// the event loop that also serves the gate. The library has no run-time budget, so the bound
// is worked out before running: comprehensions (all, exists, exists_one, map, filter) nested
// d deep iterate at most n^d times, where n bounds the size of any list or map they can walk:
// the object's largest collection or the expression's literals, times the copies that `+`
// can concatenate. Each iteration evaluates at most the expression's node count. An
// evaluation whose bound exceeds the budget is not started.
import { isAstNode } from "./cel-regex";

const comprehensions = new Set(["all", "exists", "exists_one", "map", "filter"]);

/** Node visits one evaluation may make: about 50 ms of work, measured at ~50-150 ns a visit. */
export const celBudget = 1_000_000;

export interface CelShape {
  /** AST nodes: the work of one pass over the expression. */
  nodes: number;
  /** How deeply comprehensions nest. */
  depth: number;
  /** Items of the expression's largest list or map literal (a comprehension may iterate it). */
  literalItems: number;
  /** `+` operations: each can join two lists into a longer one. */
  concatenations: number;
}

export function celShape(ast: unknown): CelShape {
  const shape = { nodes: 0, depth: 0, literalItems: 0, concatenations: 0 };
  const walk = (node: unknown, depth: number): void => {
    if (Array.isArray(node)) return node.forEach(n => walk(n, depth));
    if (!isAstNode(node)) return;
    shape.nodes++;
    shape.depth = Math.max(shape.depth, depth);
    if ((node.op === "list" || node.op === "map") && Array.isArray(node.args)) shape.literalItems = Math.max(shape.literalItems, node.args.length);
    if (node.op === "+") shape.concatenations++;
    const args = node.args as unknown;
    // rcall: [name, receiver, [iteration variable, ...body]]: the body runs once per item.
    if (node.op === "rcall" && Array.isArray(args) && comprehensions.has(args[0] as string) && Array.isArray(args[2]) && args[2].length >= 2) {
      walk(args[1], depth);
      walk(args[2], depth + 1);
      return;
    }
    walk(args, depth);
  };
  walk(ast, 0);
  return shape;
}

/** The size of the largest list or map anywhere in a value (what a comprehension can walk). */
export function largestCollection(v: unknown): number {
  if (Array.isArray(v)) return v.reduce((n: number, x) => Math.max(n, largestCollection(x)), v.length);
  if (typeof v === "object" && v !== null) return Object.values(v).reduce((n: number, x) => Math.max(n, largestCollection(x)), Object.keys(v).length);
  return 0;
}

/** The most node visits evaluating an expression of this shape may take, given the object's largest collection. */
export function celCost(shape: CelShape, largest: number): number {
  const walked = Math.max(largest, shape.literalItems, 1) * (shape.concatenations + 1);
  return walked ** shape.depth * shape.nodes;
}
