// Wiring only: which events reach the engine. No logic and no I/O at import time: the
// engine is created on the first event, which only the watcher (or dev mode) receives.
import { Capability, Log } from "pepr";
import { admitApproval, approvalRefusal, dependencyCycle, describeProblems, gateRemovalRefusal, mayApprove, validateStageSet, withActionDefaults, type UserInfo } from "./admission";
import { KubeClient } from "./kube";
import { StageSet } from "./api";
import { Controller } from "./engine";
import { serve } from "./gate";

export const StageSets = new Capability({
  name: "stageset",
  description: "Rolls out a release as an ordered list of health-gated stages",
});

const { When } = StageSets;
let controller: Controller | undefined;
const engine = () => (controller ??= new Controller());

// Admission: fill the defaults the schema cannot and record an approval the user may give,
// then reject a spec the engine could not act on, naming every field (the engine checks again
// and stalls with InvalidSpec), a dependency cycle, or an approval the user may not give.
let admissionClient: KubeClient | undefined;
const mayApproveAs = (user: UserInfo, ss: StageSet) => () => mayApprove((admissionClient ??= KubeClient.fromDefault()), user, ss.metadata!.namespace!, ss.metadata!.name!);
When(StageSet)
  .IsCreatedOrUpdated()
  .Mutate(async req => {
    const stages = withActionDefaults(req.Raw);
    if (stages) req.Merge({ spec: { stages } });
    const annotations = await admitApproval(req.Raw, req.OldResource as StageSet | undefined, req.Request.userInfo, mayApproveAs(req.Request.userInfo, req.Raw), new Date());
    for (const [key, value] of Object.entries(annotations)) {
      if (value === undefined) req.RemoveAnnotation(key);
      else req.SetAnnotation(key, value);
    }
  })
  .Validate(async req => {
    const problems = validateStageSet(req.Raw);
    if (problems.length > 0) return req.Deny(`invalid StageSet: ${describeProblems(problems)}`, 422);
    const may = mayApproveAs(req.Request.userInfo, req.Raw);
    const refused = (await approvalRefusal(req.Raw, req.Request.userInfo, may)) ?? (await gateRemovalRefusal(req.Raw, req.OldResource as StageSet | undefined, req.Request.userInfo, may));
    if (refused) return req.Deny(refused, 403);
    const cycle = await dependencyCycle((admissionClient ??= KubeClient.fromDefault()), req.Raw);
    return cycle ? req.Deny(`invalid StageSet: ${cycle}`, 422) : req.Approve();
  });

// Every StageSet event only enqueues its key; the engine reads the object fresh and ignores
// events that change nothing it acts on (such as its own status writes).
When(StageSet)
  .IsCreatedOrUpdated()
  .Reconcile(ss => engine().onStageSet(ss));
When(StageSet)
  .IsDeleted()
  .Reconcile(ss => engine().onStageSet(ss, true));

// Sources (ExternalArtifacts, or any kind a sourceRef names) are not a Pepr binding: the
// engine follows them with its own watch, which waits for a kind the API server does not
// serve yet (Flux absent) instead of giving up and ending the process as Pepr's watch does.

/** Watcher and dev mode only (pepr.ts decides): the gate and metrics listeners on the engine's view. */
export async function startServers(): Promise<void> {
  const running = engine();
  const serving = await serve(running.view, running.metrics.registry, { synced: () => running.synced() });
  Log.info({ gate: serving.gate.url, metrics: `${serving.metrics.url}/metrics` }, "gate and metrics listening");
  // Pepr's own SIGTERM handler waits for every keep-alive connection to its server to close;
  // a watcher pod would then use up its grace period on every rollout. Hand the Lease over at
  // once (released, so the next leader starts now), keep answering while the endpoints of a
  // terminating pod are taken out of the gate Service, then close the listeners and exit.
  onlySigtermHandler(() => {
    const exit = () => process.exit(143);
    const linger = process.env.KUBERNETES_SERVICE_HOST ? endpointsDrainMs : 0;
    setTimeout(exit, linger + shutdownBudgetMs).unref();
    const lingered = new Promise(ok => setTimeout(ok, linger));
    void Promise.all([running.stepDown(), lingered]).then(() => serving.close()).finally(exit);
  });
}

/**
 * Makes handler the process's one SIGTERM handler, now and later: Pepr's (registered before
 * or after this) would exit as soon as its own server closed, before the Lease is released.
 * In the watcher that server serves only probes and metrics: nothing to drain.
 */
function onlySigtermHandler(handler: () => void): void {
  process.removeAllListeners("SIGTERM");
  process.on("newListener", (event, listener) => {
    if (event === "SIGTERM" && listener !== handler) setImmediate(() => process.removeListener("SIGTERM", listener as () => void));
  });
  process.on("SIGTERM", handler);
}

/**
 * In a pod, how long the gate keeps answering after SIGTERM: a terminating pod's endpoint
 * leaves the Service when kube-proxy next syncs, and until then requests still reach it.
 */
const endpointsDrainMs = 3_000;
/** After that, the Lease handed over and the listeners closed within this (grace period: 10 s in the chart and YAML). */
const shutdownBudgetMs = 4_000;
