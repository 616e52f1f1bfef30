// `stageset ui` at scale: 1,000 StageSets × 10 stages (status written as the controller writes
// it), the view's server for all namespaces (startUi, as `stageset ui -A` runs it), headless
// Chromium (Debian's). Prints, over a few page loads (each in a fresh browser context):
// navigation start to the first screen of releases painted, and to the whole list, and, for
// status changes written one at a time, the time from the write to the changed stage
// shown on the open page. Baseline on the same control plane: one GET of all StageSets, the
// least any view of them costs. Targets (issue): first paint under 1 s, a change shown within 1 s.
// Run: npm run bench:ui   (BENCH_UI_STAGESETS=1000, BENCH_UI_STAGES=10)
import { K8s, kind } from "pepr";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { stageSetsPath, type StageStatus } from "../capabilities/api";
import { KubeClient } from "../capabilities/kube";
import { startUi } from "../cli/ui/server";
import { kubectl, startControlPlane } from "../local-cluster/control-plane";
import { launchBrowser } from "../test/harness/browser";
import type { Page } from "playwright-core";
import { runBench } from "./main";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const count = Number(process.env.BENCH_UI_STAGESETS ?? 1000);
const stages = Number(process.env.BENCH_UI_STAGES ?? 10);
const namespaces = 10;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const fmt = (xs: number[]) => `p50 ${pct(xs, 50)} ms, max ${Math.max(...xs)} ms (n=${xs.length})`;
const nsOf = (i: number) => `bench-ui-${i % namespaces}`;
const nameOf = (i: number) => `release-${String(i).padStart(4, "0")}`;
const digest = (i: number, s: number) => `sha256:${(i * 100 + s).toString(16).padStart(64, "0")}`;

function stageStatus(i: number, s: number, phase: StageStatus["phase"]): StageStatus {
  const rev = `v1@${digest(i, s)}`;
  return { name: `stage-${s}`, phase, attemptedRevision: rev, attemptedDigest: digest(i, s), appliedRevision: rev, appliedDigest: digest(i, s), verifiedGeneration: 1, objects: 3, lastAppliedTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString(), message: `${phase}: 3 objects` };
}

async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

async function main(): Promise<void> {
  const plane = await startControlPlane({ workloads: false });
  process.env.KUBECONFIG = plane.kubeconfig;
  kubectl(plane.binDir, plane.kubeconfig, ["apply", "--server-side", "-f", join(root, "crds")]);
  kubectl(plane.binDir, plane.kubeconfig, ["wait", "--for=condition=Established", "--timeout=60s", "crd/stagesets.stageset.dev"]);
  const client = KubeClient.forUser().client;
  let ui: Awaited<ReturnType<typeof startUi>> | undefined;
  let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;
  try {
    for (let n = 0; n < namespaces; n++) await K8s(kind.Namespace).Apply({ metadata: { name: nsOf(n) } });
    const ids = Array.from({ length: count }, (_, i) => i);
    const t0 = Date.now();
    await inParallel(ids, 16, async i => {
      const spec = { stages: Array.from({ length: stages }, (_, s) => ({ name: `stage-${s}`, sourceRef: { name: `src-${s}` } })) };
      await client.request("POST", stageSetsPath(nsOf(i)), { body: { apiVersion: "stageset.dev/v1alpha1", kind: "StageSet", metadata: { name: nameOf(i) }, spec } });
      const status = { conditions: [{ type: "Ready", status: "True", reason: "ReconciliationSucceeded", message: `Applied ${stages} stages`, observedGeneration: 1, lastTransitionTime: new Date().toISOString() }], stages: Array.from({ length: stages }, (_, s) => stageStatus(i, s, "Ready")) };
      await client.mergePatch(stageSetsPath(nsOf(i), nameOf(i), "/status"), { status });
    });
    console.log(`created ${count} StageSets × ${stages} stages with status in ${Date.now() - t0} ms`);
    const listStart = Date.now();
    const listed = await client.get<{ items: unknown[] }>(stageSetsPath());
    const listMs = Date.now() - listStart;
    const listBytes = JSON.stringify(listed.body).length;

    ui = await startUi({ client, port: 0, gateUrl: "http://127.0.0.1:9" });
    browser = await launchBrowser();
    // Each load in a fresh browser context (nothing cached); the first starts as soon as the view has printed its address,
    // before it has listed the StageSets, as a user who opens it at once.
    const firstScreens: number[] = [];
    const paints: number[] = [];
    const scripts: number[] = [];
    const snapshots: number[] = [];
    let page!: Page;
    for (let load = 0; load < 5; load++) {
      if (load > 0) await page.context().close();
      // CSP bypassed here only: the benchmark evaluates its probes as strings (the page itself never evaluates strings).
      page = await (await browser.browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true })).newPage();
      await page.goto(ui.url);
      const painted = await page.waitForFunction(`performance.getEntriesByName("stagesets-painted").find(e => e.detail === ${count})?.startTime`, undefined, { timeout: 60_000 });
      paints.push(Math.round((await painted.jsonValue()) as number));
      firstScreens.push(Math.round((await page.evaluate(`performance.getEntriesByName("stagesets-first-painted").find(e => e.detail > 0).startTime`)) as number));
      // Where the time goes: the page and its script loaded, then the first screenful of StageSets received.
      scripts.push(Math.round((await page.evaluate(`performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd`)) as number));
      snapshots.push(Math.round((await page.evaluate(`performance.getEntriesByName("snapshot-received").find(e => e.detail > 1000)?.startTime ?? NaN`)) as number));
    }
    const changes: number[] = [];
    for (let k = 0; k < 10; k++) {
      const i = (k * 97 + 13) % count;
      const s = k % stages;
      const key = `${nsOf(i)}/${nameOf(i)}`;
      const phase = k % 2 === 0 ? "Failed" : "Degraded";
      // The page notes the wall-clock time the stage shows its new phase.
      await page.evaluate(`(() => {
        window.shownAt = undefined;
        const seen = () => document.querySelector('li.ss[data-key="${key}"] li.stage[data-stage="stage-${s}"]')?.getAttribute("data-phase") === "${phase}";
        new MutationObserver((_, obs) => { if (seen()) { window.shownAt = Date.now(); obs.disconnect(); } })
          .observe(document.getElementById("list"), { subtree: true, childList: true, attributes: true });
      })()`);
      const written = Date.now();
      const status = { stages: Array.from({ length: stages }, (_, x) => stageStatus(i, x, x === s ? phase : "Ready")) };
      await client.mergePatch(stageSetsPath(nsOf(i), nameOf(i), "/status"), { status });
      const shown = await page.waitForFunction("window.shownAt", undefined, { timeout: 30_000 });
      changes.push(((await shown.jsonValue()) as number) - written);
    }
    const heap = (await page.evaluate("performance.memory?.usedJSHeapSize ?? 0")) as number;
    console.log(`stageset ui -A, ${count} StageSets × ${stages} stages, headless Chromium ${browser.browser.version()}:`);
    console.log(`  navigation start to the first screen of releases painted: ${fmt(firstScreens)}   (target: under 1,000 ms)`);
    console.log(`    of which the first load, opened as the view started (before it had listed): ${firstScreens[0]} ms`);
    console.log(`    of which: page and script loaded ${fmt(scripts)}; first screenful of StageSets received ${fmt(snapshots)}`);
    console.log(`  navigation start to the whole list drawn and painted: ${fmt(paints)}; first load ${paints[0]} ms`);
    console.log(`  a status write to the changed stage shown on the open page: ${fmt(changes)}   (target: under 1,000 ms)`);
    console.log(`  baseline: one GET of all ${count} StageSets from the API server: ${listMs} ms, ${(listBytes / 1e6).toFixed(1)} MB of JSON`);
    console.log(`  page JS heap ${(heap / 2 ** 20).toFixed(0)} MiB; ui server RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB (with this benchmark's own client)`);
  } finally {
    await browser?.close();
    await ui?.close();
    client.close();
    await plane.stop();
  }
}

runBench(main);
