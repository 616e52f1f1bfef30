// What a replica that does not lead does with a StageSet: nothing it writes, only what its gate
// and gauge need. It follows the verified stages' objects from its own watches, as the leader
// does, so every replica's gate answers from live health and a failover keeps every gate's
// answer. The leader's status writes tell it which revision each stage was verified at.
import type { Outcome } from "./queue";
import { followVerified, unfollowedRetryMs } from "./health-sync";
import { newRun, type EngineDeps } from "./run";
import { resolveSources } from "./sources";
import { readStageSet, type StageSetKey } from "./status";
import { compileStageExprs } from "./steps";
import { refuseCrossNamespaceRefs, validateSpec } from "./reconcile";
import { durationOr } from "../api";

export async function follow(deps: EngineDeps, key: StageSetKey): Promise<Outcome> {
  const ss = await readStageSet(deps.client, key);
  if (!ss) return { kind: "forget" };
  const run = newRun(deps, key, ss);
  const idleMs = durationOr(10 * 60_000, ss.spec?.interval);
  // The leader's guards, without its writes: a follower fetches nothing the leader would refuse
  // to (a cross-namespace source under lockdown, an invalid spec). As the leader, it keeps
  // following a suspended StageSet's verified stages (reads only), and waits for a change of
  // the rest (a deletion ends in a delete event; a fixed spec in an update).
  if (ss.metadata?.deletionTimestamp) return { kind: "stalled" };
  try {
    compileStageExprs(run); // a spec whose checks do not compile has no verified stage to follow
    validateSpec(run);
    refuseCrossNamespaceRefs(run);
  } catch {
    return { kind: "stalled" };
  }
  run.sources = (await resolveSources(deps.client, deps.discovery, key.namespace, run.stages)).sources;
  deps.liveHealth?.unfollow(key.namespace, key.name, stage => !run.stageNames.includes(stage));
  await followVerified(run);
  return run.unfollowed ? { kind: "resync", afterMs: unfollowedRetryMs, unfollowed: true } : { kind: "resync", afterMs: idleMs };
}
