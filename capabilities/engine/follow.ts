// What a replica that does not lead does with a StageSet: nothing it writes, only what its gate
// and gauge need. It follows the verified stages' objects from its own watches, as the leader
// does, so every replica's gate answers from live health and a failover keeps every gate's
// answer. The leader's status writes tell it which revision each stage was verified at.
import type { Outcome } from "./queue";
import { followVerified, markedPartial } from "./health-sync";
import { newRun, type EngineDeps, type Run } from "./run";
import { resolveSources } from "./sources";
import { readStageSet, type StageSetKey } from "./status";
import { compileStageExprs } from "./steps";
import { refuseCrossNamespaceRefs, validateSpec } from "./guards";
import { durationOr } from "../api";

export async function follow(deps: EngineDeps, key: StageSetKey): Promise<Outcome> {
  const ss = await readStageSet(deps.client, key);
  if (!ss) return { kind: "forget" };
  const run = newRun(deps, key, ss);
  // A deletion ends in a delete event, a refused spec waits for a change: nothing to look at until then.
  if (ss.metadata?.deletionTimestamp || !(await followWithoutWrites(run))) return { kind: "stalled" };
  return markedPartial(run, { kind: "resync", afterMs: durationOr(10 * 60_000, ss.spec?.interval) });
}

/**
 * Follows the verified stages' objects, as the leader does, writing nothing; false when the
 * leader's guards refuse the spec (then nothing is fetched: not a cross-namespace source under
 * lockdown, nothing of an invalid spec).
 */
export async function followWithoutWrites(run: Run): Promise<boolean> {
  try {
    compileStageExprs(run); // a spec whose checks do not compile has no verified stage to follow
    validateSpec(run);
    refuseCrossNamespaceRefs(run);
  } catch {
    return false;
  }
  run.sources = (await resolveSources(run.deps.client, run.deps.discovery, run.key.namespace, run.stages)).sources;
  run.deps.liveHealth?.unfollow(run.key.namespace, run.key.name, stage => !run.stageNames.includes(stage));
  await followVerified(run);
  return true;
}
