// A cluster without Flux: no ExternalArtifact CRD. The module (as the watcher pod runs it) must
// stay up, keep serving the gate, and say why on the StageSet; once the CRD is installed and
// an artifact published, everything converges with no restart. Its own control plane, since
// the shared one has the CRD installed for every other test.
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { K8s, kind } from "pepr";
import { afterAll, beforeAll, expect, it } from "vitest";
import { StageSet } from "../../capabilities/api";
import { startArtifactServer, type ArtifactServer } from "../../local-cluster/artifact-server";
import { eventually } from "../harness/cluster";
import { kubectl, startControlPlane, type ControlPlane } from "../../local-cluster/control-plane";
import { gateProbe } from "../harness/gate-probe";
import { spawnModule, type ModuleProcess } from "../harness/module-process";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const ns = "no-flux";
let plane: ControlPlane;
let module: ModuleProcess;
let artifacts: ArtifactServer;
const sharedKubeconfig = process.env.KUBECONFIG;

beforeAll(async () => {
  plane = await startControlPlane({ workloads: false });
  process.env.KUBECONFIG = plane.kubeconfig; // every client in this file talks to this plane
  kubectl(plane.binDir, plane.kubeconfig, ["apply", "--server-side", "-f", join(root, "crds")]);
  kubectl(plane.binDir, plane.kubeconfig, ["wait", "--for=condition=Established", "--timeout=60s", "crd/stagesets.stageset.dev"]);
  for (const name of [ns, "pepr-system"]) await K8s(kind.Namespace).Apply({ metadata: { name } });
  artifacts = await startArtifactServer();
  module = await spawnModule({ namespaces: [ns], kubeconfig: plane.kubeconfig, harnessBinDir: plane.binDir });
}, 180_000);
afterAll(async () => {
  await module?.stop();
  await artifacts?.stop();
  await plane?.stop();
  process.env.KUBECONFIG = sharedKubeconfig;
});

const read = () => K8s(StageSet).InNamespace(ns).Get("app");
const ready = (ss: StageSet) => ss.status?.conditions?.find(c => c.type === "Ready");

it("without the ExternalArtifact CRD the controller stays up, serves the gate and says why; installing it converges", async () => {
  const probe = gateProbe(module.gate, module.metrics, ns);
  await K8s(StageSet).Apply({ metadata: { name: "app", namespace: ns }, spec: { stages: [{ name: "web", sourceRef: { name: "web" } }] } });
  const waiting = await eventually(read, ss => ready(ss)?.reason === "SourceKindNotInstalled", { what: "SourceKindNotInstalled on the StageSet" });
  expect(ready(waiting)).toMatchObject({ status: "False", message: expect.stringMatching(/stage web: ExternalArtifact no-flux\/web: the API server does not serve ExternalArtifact in source\.toolkit\.fluxcd\.io\/v1 \(install Flux 2\.7 or later/) });

  // Longer than Pepr's watch would take to give up on a missing kind (5 failed relists, 5 s apart).
  await new Promise(ok => setTimeout(ok, 30_000));
  expect(module.child.exitCode).toBeNull();
  expect(module.child.signalCode).toBeNull();
  expect(await probe.status("app", "web")).toBe(403);
  expect(await probe.json("app", "web")).toMatchObject({ ready: false, stageset: "app", stage: "web" });

  kubectl(plane.binDir, plane.kubeconfig, ["apply", "--server-side", "-f", join(root, "test/fixtures/crds/source.toolkit.fluxcd.io_externalartifacts.yaml")]);
  kubectl(plane.binDir, plane.kubeconfig, ["wait", "--for=condition=Established", "--timeout=60s", "crd/externalartifacts.source.toolkit.fluxcd.io"]);
  await artifacts.publish({ namespace: ns, name: "web" }, { files: { "web.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: web }\ndata: { k: v }\n" } });
  await eventually(read, ss => ready(ss)?.status === "True", { what: "the StageSet Ready once the CRD and the artifact exist", timeoutMs: 60_000 });
  await eventually(() => probe.status("app", "web"), s => s === 200, { what: "the gate open" });
  expect(module.child.exitCode).toBeNull();

  // The CRD deleted again (its ExternalArtifacts with it): nothing is published, so the gate
  // closes, and stays closed: it does not fall back to the pins while the kind is not served.
  kubectl(plane.binDir, plane.kubeconfig, ["delete", "crd/externalartifacts.source.toolkit.fluxcd.io", "--wait=true"]);
  // Deleting the CRD deleted its ExternalArtifacts before the delete returned: their watch
  // events are in, so the gate is closed within a second of that.
  await eventually(() => probe.status("app", "web"), s => s === 403, { what: "the gate closed within 1 s once the source kind is gone", timeoutMs: 1_000, intervalMs: 50 });
  const after: number[] = [];
  for (const until = Date.now() + 5_000; Date.now() < until; await new Promise(ok => setTimeout(ok, 100))) after.push(await probe.status("app", "web"));
  expect(after.filter(code => code !== 403)).toEqual([]);
  expect(module.child.exitCode).toBeNull();
}, 180_000);
