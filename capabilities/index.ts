// Wiring only: which events reach the engine. No logic and no I/O at import time.
import { Capability, Log } from "pepr";
import { StageSet } from "./api";

export const StageSets = new Capability({
  name: "stageset",
  description: "Rolls out a release as an ordered list of health-gated stages",
});

const { When } = StageSets;
const log = Log.child({ component: "capability" });

// The release engine (issue #6) replaces this: for now the controller only observes.
When(StageSet)
  .IsCreatedOrUpdated()
  .Reconcile(ss => {
    log.info({ namespace: ss.metadata?.namespace, stageset: ss.metadata?.name, generation: ss.metadata?.generation }, "observed StageSet");
  });
