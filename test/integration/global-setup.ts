// Starts one real control plane for the whole integration run and installs the CRDs
// every test needs (ours from crds/, and the test copy of Flux's ExternalArtifact).
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { kubectl, startControlPlane, type ControlPlane } from "../../local-cluster/control-plane";

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string;
    harnessBinDir: string;
  }
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
let plane: ControlPlane | undefined;

export async function setup(project: TestProject) {
  const started = Date.now();
  plane = await startControlPlane({ log: line => process.stderr.write(`[control-plane] ${line}\n`), keepDir: !!process.env.KEEP_CONTROL_PLANE });
  kubectl(plane.binDir, plane.kubeconfig, ["apply", "--server-side", "-f", join(root, "crds"), "-f", join(root, "test/fixtures/crds")]);
  kubectl(plane.binDir, plane.kubeconfig, ["wait", "--for=condition=Established", "--timeout=60s", "crd/stagesets.stageset.dev", "crd/externalartifacts.source.toolkit.fluxcd.io"]);
  process.stderr.write(`[control-plane] up in ${((Date.now() - started) / 1000).toFixed(1)}s at ${plane.server} (dir ${plane.dir})\n`);
  project.provide("kubeconfig", plane.kubeconfig);
  project.provide("harnessBinDir", plane.binDir);
}

export async function teardown() {
  await plane?.stop();
}
