// `npx pepr build` must finish (module top level is inert: no servers or timers outside
// the watcher and dev mode) and produce a watch-only module: a watcher, no webhooks.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

describe("npx pepr build", () => {
  it("finishes and writes a watch-only module", () => {
    const started = Date.now();
    const run = spawnSync("npm", ["run", "--silent", "build"], { cwd: root, encoding: "utf8", timeout: 240_000 });
    const seconds = (Date.now() - started) / 1000;
    expect(run.signal, `build did not finish within 240 s:\n${run.stdout}\n${run.stderr}`).toBeNull();
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    console.log(`pepr build took ${seconds.toFixed(1)}s`);

    const manifest = resolve(root, "dist/pepr-module-stageset-controller.yaml");
    expect(existsSync(manifest)).toBe(true);
    const objects = parseAllDocuments(readFileSync(manifest, "utf8")).map(d => d.toJS() as { kind: string; metadata: { name: string } });
    const names = objects.map(o => `${o.kind}/${o.metadata.name}`);
    expect(names).toContain("Deployment/pepr-stageset-controller-watcher");
    expect(names.filter(n => n.includes("WebhookConfiguration"))).toEqual([]);
    expect(existsSync(resolve(root, "dist/stageset-controller-chart/Chart.yaml"))).toBe(true);
  });
});
