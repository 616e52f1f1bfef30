// spec.dependsOn: which StageSets (or stages) must be Ready before a new run starts, and the
// cycle check admission runs over every StageSet's dependencies. Pure.
import type { DependencyRef, StageSet } from "../api";

export interface ResolvedDependency {
  namespace: string;
  name: string;
  stage?: string;
}

/** The dependency with its namespace filled in (the dependent's own by default). */
export function resolveDependency(ref: DependencyRef, namespace: string): ResolvedDependency {
  return { namespace: ref.namespace || namespace, name: ref.name, ...(ref.stage ? { stage: ref.stage } : {}) };
}

/** The StageSets (`namespace/name`) a StageSet depends on. */
export function dependencyKeys(ss: StageSet): string[] {
  const namespace = ss.metadata?.namespace ?? "";
  return (ss.spec?.dependsOn ?? []).map(ref => {
    const d = resolveDependency(ref, namespace);
    return `${d.namespace}/${d.name}`;
  });
}

/** `StageSet ns/name` or `stage s of StageSet ns/name`, for messages. */
export function describeDependency(d: ResolvedDependency): string {
  return `${d.stage ? `stage ${d.stage} of ` : ""}StageSet ${d.namespace}/${d.name}`;
}

/**
 * A cycle through `start` in the graph of StageSets (keys `namespace/name`) once `start`
 * depends on `edges`, as the list of keys walked (`a → b → a`); undefined when there is none.
 */
export function findCycle(start: string, edges: string[], dependsOn: (key: string) => string[]): string[] | undefined {
  // Depth first, iteratively (a tenant's long chain must not overflow the stack), each key
  // visited once, remembering how it was reached to spell the cycle out.
  const cameFrom = new Map<string, string>();
  const stack = edges.map(e => ({ key: e, from: start }));
  while (stack.length > 0) {
    const { key, from } = stack.pop()!;
    if (key === start) {
      const chain: string[] = [];
      for (let at = from; at !== start; at = cameFrom.get(at)!) chain.push(at);
      return [start, ...chain.reverse(), start];
    }
    if (cameFrom.has(key)) continue;
    cameFrom.set(key, from);
    for (const next of dependsOn(key)) stack.push({ key: next, from: key });
  }
  return undefined;
}
