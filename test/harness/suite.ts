// The shared setup of an engine test file: its own namespace, a Flux-like artifact server,
// the engine running in-process on real watches, and after every test the status
// invariants (STYLE R10) checked on every StageSet in the namespace.
import { K8s, kind } from "pepr";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { StageSet } from "../../capabilities/api";
import { startArtifactServer, type ArtifactServer } from "../../local-cluster/artifact-server";
import { createTestNamespace, deleteTestNamespace } from "./cluster";
import { startController, type HarnessOptions, type RunningController } from "./controller";

export interface EngineSuite {
  ns: string;
  artifacts: ArtifactServer;
  running: RunningController;
}

export function useEngineSuite(prefix: string, opts: Pick<HarnessOptions, "serve" | "actionAllowlist" | "lookup"> = {}): EngineSuite {
  const env = {} as EngineSuite;
  beforeAll(async () => {
    env.ns = await createTestNamespace(prefix);
    env.artifacts = await startArtifactServer();
    // Scoped to this file's namespace: engines of files running in parallel must not share StageSets.
    env.running = await startController({ namespaces: [env.ns], ...opts });
  });
  afterAll(async () => {
    env.running?.stop();
    await env.artifacts?.stop();
    if (env.ns) await deleteTestNamespace(env.ns);
  });
  afterEach(async () => {
    const list = await K8s(StageSet).InNamespace(env.ns).Get();
    for (const ss of list.items) expect(invariantViolations(ss), `StageSet ${ss.metadata?.name}`).toEqual([]);
  });
  return env;
}

/** Status invariants that must hold on any settled StageSet. */
export function invariantViolations(ss: StageSet): string[] {
  const c = Object.fromEntries((ss.status?.conditions ?? []).map(x => [x.type, x]));
  const bad: string[] = [];
  if (c.Reconciling && c.Stalled) bad.push("I1: Reconciling and Stalled both present");
  if (c.Ready?.status === "True" && ss.status?.observedGeneration !== ss.metadata?.generation) bad.push("I2: Ready on a stale generation");
  if (c.Stalled && c.Ready?.status !== "False") bad.push("I3: Stalled but Ready is not False");
  if (c.Ready?.status === "False" && !c.Ready.message) bad.push("I4: Ready=False without a message");
  return bad;
}

/** A ConfigMap, or undefined when it does not exist. */
export async function configMapIn(namespace: string, name: string) {
  try {
    return await K8s(kind.ConfigMap).InNamespace(namespace).Get(name);
  } catch (err) {
    if ((err as { status?: number }).status === 404) return undefined;
    throw err;
  }
}
