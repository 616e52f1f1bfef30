// Many tenants at once, each hostile: eight StageSets in eight namespaces publish the same
// hostile shape at the same moment. The module (bundled, as production runs it) fails each with
// its reason, keeps answering the gate throughout, and its peak memory stays bounded: a bomb
// stops within a few blocks of where it gives itself away, decompressions run one at a time,
// and a stage's YAML is parsed only within a node budget.
import { readFileSync } from "node:fs";
import { createGzip, gzipSync } from "node:zlib";
import { K8s, kind } from "pepr";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { StageSet } from "../../capabilities/api";
import { startArtifactServer, type ArtifactServer } from "../../local-cluster/artifact-server";
import { createTestNamespace, deleteTestNamespace, eventually } from "../harness/cluster";
import { spawnModule, type ModuleProcess } from "../harness/module-process";
import { fileHeader, tarGz } from "../../local-cluster/tar";

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

// Three hostile shapes, each published by all eight tenants at the same moment, one after the
// other in one module: a bomb that declares its size, zeros with no tar header at all (nothing
// to declare), and an archive that keeps within every cap (eleven 9 MiB files, 99 MiB in all)
// with a stage of as many YAML nodes as the parse budget allows.
const shapes = [
  {
    name: "a 1 GiB gzip bomb that declares its size",
    archive: async (zeros: Buffer, i: number) => Buffer.concat([gzipSync(fileHeader(`bomb-${i}.yaml`, GiB)), zeros]),
    reason: "ArtifactExtractionFailed",
    message: /archive entry "bomb-\d\.yaml": 1073741824 bytes \(1 GiB\) is over the per-file cap of 10485760 bytes \(10 MiB\) \(maxFileBytes\)/,
  },
  {
    name: "1 GiB of zeros with no tar header",
    // A first gzip member that differs per tenant (an empty one, stored at a per-tenant level) keeps each archive's digest its own.
    archive: async (zeros: Buffer, i: number) => Buffer.concat([gzipSync(Buffer.alloc(0), { level: i + 1 }), zeros]),
    reason: "ArtifactExtractionFailed",
    message: /more than 10240 bytes \(10 KiB\) of data after the end of the tar archive at byte 0; refusing a possible decompression bomb/,
  },
  {
    name: "99 MiB within every cap, and a stage of 50,000 YAML nodes",
    archive: async (_zeros: Buffer, i: number) => {
      const keys = Array.from({ length: 24_990 }, (_, k) => `  k${k}: v`).join("\n");
      const blobs = Array.from({ length: 11 }, (_, b) => ({ name: `blobs/${b}.bin`, body: Buffer.alloc(9 * 1024 * 1024) }));
      return tarGz([...blobs, { name: "stage/cm.yaml", body: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big-${i}}\ndata:\n${keys}\n  k0: again\n` }]);
    },
    reason: "ManifestInvalid",
    message: /cm\.yaml \(document 1\): invalid YAML at line 24995, column 3: Map keys must be unique/,
    path: "stage",
  },
];

it("eight tenants at once, three hostile shapes: each fails with its reason, the gate answers throughout, peak RSS stays under 300 MiB", async () => {
  const zeros = await gzippedZeros(GiB);
  const peaks: string[] = [`${peakMiB(module.child.pid!).toFixed(0)} MiB before`];
  for (const [round, shape] of shapes.entries()) {
    const name = `hostile-${round}`;
    for (const [i, ns] of namespaces.entries()) await artifacts.publish({ namespace: ns, name }, { raw: await shape.archive(zeros, i) });
    await Promise.all(namespaces.map(ns => K8s(StageSet).Apply({ metadata: { name, namespace: ns }, spec: { stages: [{ name: "s", sourceRef: { name }, ...(shape.path ? { path: shape.path } : {}) }] } })));

    const gateAnswers: number[] = [];
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const started = Date.now();
        const res = await fetch(`${module.gate}/gate/${namespaces[0]}/${name}/s`).catch(() => undefined);
        gateAnswers.push(res?.status ?? 0);
        await new Promise(ok => setTimeout(ok, Math.max(0, 50 - (Date.now() - started))));
      }
    })();
    try {
      for (const ns of namespaces) {
        const ss = await eventually(() => K8s(StageSet).InNamespace(ns).Get(name), s => s.status?.conditions?.some(c => c.type === "Ready" && c.reason === shape.reason) ?? false, { what: `${ns}, ${shape.name}: ${shape.reason}`, timeoutMs: 120_000, intervalMs: 500 });
        expect(ss.status?.conditions?.find(c => c.type === "Ready")?.message).toMatch(shape.message);
      }
      await new Promise(ok => setTimeout(ok, 500)); // and a little after the last one
    } finally {
      polling = false;
      await poll;
    }
    peaks.push(`${peakMiB(module.child.pid!).toFixed(0)} MiB after ${shape.name}`);
    expect(gateAnswers.length, shape.name).toBeGreaterThan(5);
    expect(gateAnswers.filter(s => s !== 403), shape.name).toEqual([]); // answered every time (and never "ready")
  }
  process.stdout.write(`hostile memory, module peak RSS (eight tenants at once): ${peaks.join("; ")}\n`);
  expect(peakMiB(module.child.pid!)).toBeLessThan(300);
}, 600_000);
