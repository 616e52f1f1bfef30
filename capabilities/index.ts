// Wiring only: which events reach the engine. No logic and no I/O at import time: the
// engine is created on the first event, which only the watcher (or dev mode) receives.
import { Capability } from "pepr";
import { ExternalArtifact, StageSet } from "./api";
import { Controller } from "./engine";

export const StageSets = new Capability({
  name: "stageset",
  description: "Rolls out a release as an ordered list of health-gated stages",
});

const { When } = StageSets;
let controller: Controller | undefined;
const engine = () => (controller ??= new Controller());

// Every StageSet event only enqueues its key; the engine reads the object fresh and ignores
// events that change nothing it acts on (such as its own status writes).
When(StageSet)
  .IsCreatedOrUpdated()
  .Reconcile(ss => engine().onStageSet(ss));
When(StageSet)
  .IsDeleted()
  .Reconcile(ss => engine().onStageSet(ss, true));

// A new artifact revision wakes every StageSet that references it, in any namespace.
When(ExternalArtifact)
  .IsCreatedOrUpdated()
  .Watch(ea => engine().onArtifact(ea));
When(ExternalArtifact)
  .IsDeleted()
  .Watch(ea => engine().onArtifact(ea, true));
