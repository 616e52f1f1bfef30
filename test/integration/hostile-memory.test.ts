// Many tenants at once, each hostile: eight StageSets in eight namespaces publish a 1 GiB gzip
// bomb at the same moment. The module (bundled, as production runs it) fails each with its
// reason, keeps answering the gate throughout, and its peak memory stays bounded, because
// decompressions run one at a time and each stops at its cap.
import { readFileSync } from "node:fs";
import { createGzip, gzipSync } from "node:zlib";
import { K8s, kind } from "pepr";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { StageSet } from "../../capabilities/api";
import { startArtifactServer, type ArtifactServer } from "../harness/artifact-server";
import { createTestNamespace, deleteTestNamespace, eventually } from "../harness/cluster";
import { spawnModule, type ModuleProcess } from "../harness/module-process";
import { fileHeader } from "../harness/tar";

const GiB = 1024 * 1024 * 1024;
const tenants = 8;
let namespaces: string[] = [];
let artifacts: ArtifactServer;
let module: ModuleProcess;

/** gzip of `size` zero bytes, streamed so that the test never holds them. */
async function gzippedZeros(size: number): Promise<Buffer> {
  const gz = createGzip({ level: 1 });
  const out: Buffer[] = [];
  gz.on("data", (c: Buffer) => out.push(c));
  const done = new Promise(ok => gz.on("end", ok));
  const chunk = Buffer.alloc(16 * 1024 * 1024);
  for (let sent = 0; sent < size; sent += chunk.length) if (!gz.write(chunk)) await new Promise(ok => gz.once("drain", ok));
  gz.end();
  await done;
  return Buffer.concat(out);
}

const peakMiB = (pid: number) => Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

beforeAll(async () => {
  namespaces = await Promise.all([...Array(tenants).keys()].map(() => createTestNamespace("bomb")));
  await K8s(kind.Namespace).Apply({ metadata: { name: "pepr-system" } });
  artifacts = await startArtifactServer();
  module = await spawnModule({ namespaces, kubeconfig: inject("kubeconfig"), harnessBinDir: inject("harnessBinDir"), bundled: true });
});
afterAll(async () => {
  await module?.stop();
  await artifacts?.stop();
  await Promise.all(namespaces.map(ns => deleteTestNamespace(ns)));
});

it("eight 1 GiB gzip bombs at once: each fails with its reason, the gate answers throughout, peak RSS stays under 300 MiB", async () => {
  // A tar of one 1 GiB file of zeros, as two gzip members: a header that differs per tenant
  // (so each archive has its own digest and is loaded on its own), then the shared zeros.
  const zeros = await gzippedZeros(GiB);
  for (const [i, ns] of namespaces.entries()) {
    await artifacts.publish({ namespace: ns, name: "bomb" }, { raw: Buffer.concat([gzipSync(fileHeader(`bomb-${i}.yaml`, GiB)), zeros]) });
  }
  const before = peakMiB(module.child.pid!);
  await Promise.all(namespaces.map(ns => K8s(StageSet).Apply({ metadata: { name: "bomb", namespace: ns }, spec: { stages: [{ name: "s", sourceRef: { name: "bomb" } }] } })));

  const gateAnswers: number[] = [];
  let polling = true;
  const poll = (async () => {
    while (polling) {
      const started = Date.now();
      const res = await fetch(`${module.gate}/gate/${namespaces[0]}/bomb/s`).catch(() => undefined);
      gateAnswers.push(res?.status ?? 0);
      await new Promise(ok => setTimeout(ok, Math.max(0, 50 - (Date.now() - started))));
    }
  })();
  try {
    for (const ns of namespaces) {
      const ss = await eventually(() => K8s(StageSet).InNamespace(ns).Get("bomb"), s => s.status?.conditions?.some(c => c.type === "Ready" && c.reason === "ArtifactExtractionFailed") ?? false, { what: `${ns}: ArtifactExtractionFailed`, timeoutMs: 120_000, intervalMs: 500 });
      expect(ss.status?.conditions?.find(c => c.type === "Ready")?.message).toMatch(/bomb-\d\.yaml" declares 1073741824 bytes \(1 GiB\), over the per-file cap .*refusing a possible decompression bomb/);
    }
    await new Promise(ok => setTimeout(ok, 500)); // and a little after the last one
  } finally {
    polling = false;
    await poll;
  }
  const peak = peakMiB(module.child.pid!);
  process.stdout.write(`hostile memory: module peak RSS ${before.toFixed(0)} MiB before the bombs, ${peak.toFixed(0)} MiB after eight at once\n`);
  expect(gateAnswers.length).toBeGreaterThan(5);
  expect(gateAnswers.filter(s => s !== 403)).toEqual([]); // answered every time (and never "ready")
  expect(peak).toBeLessThan(300);
}, 240_000);
