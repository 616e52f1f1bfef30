// What a file of gate tests shares: one namespace, an artifact server, and the module as the
// watcher pod runs it (Pepr's runtime in watch mode, the module's own bindings), asked over
// HTTP through a probe; a restart replaces the module process, and the probe with it.
import { K8s, kind } from "pepr";
import { afterAll, beforeAll, inject } from "vitest";
import { StageSet, type Stage } from "../../capabilities/api";
import { startArtifactServer, type ArtifactServer } from "../../local-cluster/artifact-server";
import { createTestNamespace, deleteTestNamespace, eventually } from "./cluster";
import { spawnModule, type ModuleProcess } from "./module-process";
import { gateProbe, type GateProbe } from "./gate-probe";

export class GateFixture {
  ns = "";
  artifacts!: ArtifactServer;
  module!: ModuleProcess;
  probe!: GateProbe;

  /** Registers the file's beforeAll and afterAll. */
  constructor(prefix: string) {
    beforeAll(async () => {
      this.ns = await createTestNamespace(prefix);
      this.artifacts = await startArtifactServer();
      await this.start();
    });
    afterAll(async () => {
      await this.module?.stop();
      await this.artifacts?.stop();
      if (this.ns) await deleteTestNamespace(this.ns);
    });
  }

  /** Stops the module, does what happens while it is down, and starts a new module process. */
  restart = async (whileDown: () => Promise<void> = async () => {}): Promise<void> => {
    await this.module.stop();
    await whileDown();
    await this.start();
  };

  read = (name: string) => K8s(StageSet).InNamespace(this.ns).Get(name);
  stageOf = (ss: StageSet, name: string) => ss.status?.stages?.find(s => s.name === name);
  condition = (ss: StageSet, type: string) => ss.status?.conditions?.find(c => c.type === type);
  isReady = (ss: StageSet) => this.condition(ss, "Ready")?.status === "True" && this.condition(ss, "Ready")?.observedGeneration === ss.metadata?.generation;
  publish = (name: string, files: Record<string, string>, opts = {}) => this.artifacts.publish({ namespace: this.ns, name }, { files }, opts);

  /** Applies a StageSet and waits until it is Ready and every stage's gate is open. */
  release = async (name: string, stages: Stage[], extra: Record<string, unknown> = {}): Promise<StageSet> => {
    await K8s(StageSet).Apply({ metadata: { name, namespace: this.ns }, spec: { stages, ...extra } });
    const ss = await eventually(() => this.read(name), this.isReady, { what: `StageSet ${name} Ready`, timeoutMs: 60_000 });
    for (const s of stages) await eventually(() => this.probe.status(name, s.name), code => code === 200, { what: `the gate of ${name}/${s.name} open` });
    return ss;
  };

  /** No new pod may start in the namespace, then one of the Deployment's pods goes: it is 1/2 available. When the pod went. */
  loseOnePod = async (app: string): Promise<number> => {
    await K8s(kind.ResourceQuota).Apply({ metadata: { name: "no-pods", namespace: this.ns }, spec: { hard: { pods: "0" } } });
    await eventually(() => K8s(kind.ResourceQuota).InNamespace(this.ns).Get("no-pods"), q => q.status?.hard?.pods === "0", { what: "the quota in force" });
    const pods = await K8s(kind.Pod).InNamespace(this.ns).WithLabel("app", app).Get();
    const at = Date.now();
    await K8s(kind.Pod).InNamespace(this.ns).Delete(pods.items[0]!.metadata!.name!);
    return at;
  };

  private async start(): Promise<void> {
    this.module = await spawnModule({ namespaces: [this.ns], kubeconfig: inject("kubeconfig"), harnessBinDir: inject("harnessBinDir") });
    this.probe = gateProbe(this.module.gate, this.module.metrics, this.ns);
  }
}
