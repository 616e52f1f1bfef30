// `stageset ui` as a user runs it (bin/stageset.mjs ui, a child process with their kubeconfig)
// and looks at it (headless Chromium): the demo release rolled out by the module's Pepr
// bindings on the real control plane, a failing stage shown failed with its reason and turning
// Ready live without a reload, a StageSet's page with each object's health and the gate's
// answer, hostile text shown as text, and the view refusing what is not the user's browser.
// Screenshots go to test-output/ui.
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { K8s } from "pepr";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import { StageSet } from "../../capabilities/api";
import { startArtifactServer, type ArtifactServer } from "../../local-cluster/artifact-server";
import { launchBrowser, screenshotDir } from "../harness/browser";
import { createTestNamespace, deleteTestNamespace, eventually } from "../harness/cluster";
import { killChild, readyLine } from "../harness/controller-process";
import { spawnModule, type ModuleProcess } from "../harness/module-process";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
let ns: string;
let artifacts: ArtifactServer;
let module: ModuleProcess | undefined;
let ui: ChildProcess | undefined;
let url: string;
let browser: { browser: Browser; close(): Promise<void> } | undefined;

// The demo release of examples/demo with its CRD's group renamed (a cluster-scoped CRD belongs to one StageSet).
const demoFiles = (stage: string) => Object.fromEntries(readdirSync(join(root, "examples/demo", stage)).map(f => [f, readFileSync(join(root, "examples/demo", stage, f), "utf8").replaceAll("demo.stageset.dev", "ui-test.stageset.dev")]));
const read = (name: string) => K8s(StageSet).InNamespace(ns).Get(name);
const ready = (ss: StageSet) => ss.status?.conditions?.some(c => c.type === "Ready" && c.status === "True" && c.observedGeneration === ss.metadata?.generation) ?? false;
// A file name a tenant chose, which the failure message names: it must show as text, never run.
const hostileFile = `<img src=x onerror="window.xss=1">.yaml`;

beforeAll(async () => {
  ns = await createTestNamespace("ui");
  artifacts = await startArtifactServer();
  module = await spawnModule({ namespaces: [ns], kubeconfig: inject("kubeconfig"), harnessBinDir: inject("harnessBinDir") });
  for (const stage of ["crds", "config", "app"]) await artifacts.publish({ namespace: ns, name: `demo-${stage}` }, { files: demoFiles(stage) }, { label: "v1" });
  const demo = parse(readFileSync(join(root, "examples/demo/stageset.yaml"), "utf8")) as StageSet;
  await K8s(StageSet).Apply({ ...demo, metadata: { name: "demo", namespace: ns } });
  ui = spawn(process.execPath, [join(root, "bin/stageset.mjs"), "ui", "-n", ns, "--gate-url", module.gate], { env: { ...process.env, KUBECONFIG: inject("kubeconfig") }, stdio: ["ignore", "pipe", "inherit"] });
  url = (await readyLine(ui, /open (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/, "stageset ui"))[1]!;
  browser = await launchBrowser();
  await eventually(() => read("demo"), ready, { what: "the demo release Ready", timeoutMs: 120_000 });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (ui) await killChild(ui, "SIGTERM");
  await module?.stop();
  await artifacts?.stop();
  if (ns) await deleteTestNamespace(ns);
});

/** fetch cannot set Host: a plain request can, as a rebinding browser's would arrive. */
function statusWithHost(target: string, cookie: string, host: string): Promise<number> {
  return new Promise((ok, fail) => request(target, { headers: { cookie, host } }, res => (res.resume(), ok(res.statusCode!))).on("error", fail).end());
}

async function open(): Promise<Page> {
  const page = await browser!.browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(url);
  return page;
}

const row = (page: Page, name: string) => page.locator(`li.ss[data-key="${ns}/${name}"]`);
const stageChip = (page: Page, name: string, stage: string) => row(page, name).locator(`li.stage[data-stage="${stage}"]`);

describe("stageset ui", () => {
  it("shows the demo release as a pipeline of Ready stages, and its page each object's health and the gate's answer", async () => {
    const page = await open();
    await expect.poll(() => row(page, "demo").getAttribute("data-ready"), { timeout: 10_000 }).toBe("True");
    expect(await row(page, "demo").locator("li.stage").evaluateAll(els => els.map(e => `${e.getAttribute("data-stage")}:${e.getAttribute("data-phase")}`))).toEqual(["crds:Ready", "config:Ready", "app:Ready"]);
    expect(await stageChip(page, "demo", "app").innerText()).toMatch(/app\s*Ready\s*v1@sha256:[0-9a-f]{12}\b/);
    await page.screenshot({ path: join(screenshotDir, "overview-demo.png"), fullPage: true });
    // By keyboard: Tab to the StageSet's link, Enter.
    await row(page, "demo").locator("a.name").focus();
    await page.keyboard.press("Enter");
    const app = page.locator('section.stage-detail[data-stage="app"]');
    await expect.poll(() => app.locator("[data-gate]").getAttribute("data-gate"), { timeout: 10_000 }).toBe("200");
    expect(await app.locator("tbody tr").allInnerTexts()).toContainEqual(expect.stringMatching(/^Deployment .*\/web\tCurrent/));
    expect(await page.locator('section.stage-detail[data-stage="crds"] tbody').innerText()).toMatch(/CustomResourceDefinition greetings\.ui-test\.stageset\.dev\tCurrent/);
    await page.screenshot({ path: join(screenshotDir, "stageset-demo.png"), fullPage: true });
    await page.close();
  });

  it("shows a failing release with its reason, hostile text as text, a failed stage failed, and turns Ready live without a reload", async () => {
    const configMap = (name: string, data: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: ${data}\n`;
    await artifacts.publish({ namespace: ns, name: "flaky-db" }, { files: { "cm.yaml": configMap("flaky-db", "{ v: '1' }") } });
    await artifacts.publish({ namespace: ns, name: "flaky-app" }, { files: { [hostileFile]: "kind: [unclosed\n" } });
    const page = await open();
    await page.evaluate(() => ((globalThis as unknown as { loadedOnce: boolean }).loadedOnce = true));
    await K8s(StageSet).Apply({ metadata: { name: "flaky", namespace: ns }, spec: { stages: [{ name: "db", sourceRef: { name: "flaky-db" } }, { name: "app", sourceRef: { name: "flaky-app" } }] } } as StageSet);
    // A manifest that does not parse fails its stage: the row says why, naming the file.
    await expect.poll(() => stageChip(page, "flaky", "app").getAttribute("data-phase"), { timeout: 60_000 }).toBe("Failed");
    const failure = await row(page, "flaky").locator(".failure").textContent();
    expect(failure).toMatch(/^ManifestInvalid: stage app: artifact v\d+@sha256:[0-9a-f]{64}: /);
    expect(failure).toContain(hostileFile);
    expect(await page.evaluate(() => (globalThis as unknown as { xss?: number }).xss)).toBeUndefined();
    expect(await row(page, "flaky").locator("img").count()).toBe(0);
    await page.screenshot({ path: join(screenshotDir, "overview-invalid.png"), fullPage: true });
    // An object the API server refuses fails the stage that applies it.
    await artifacts.publish({ namespace: ns, name: "flaky-app" }, { files: { "cm.yaml": configMap("flaky-app", "{ v: [not, a, string] }") } });
    await expect.poll(() => row(page, "flaky").locator(".failure").textContent(), { timeout: 60_000 }).toMatch(/^ApplyFailed: stage app: /);
    expect(await stageChip(page, "flaky", "app").getAttribute("data-phase")).toBe("Failed");
    expect(await stageChip(page, "flaky", "db").getAttribute("data-phase")).toBe("Ready");
    await page.screenshot({ path: join(screenshotDir, "overview-failed.png"), fullPage: true });
    await artifacts.publish({ namespace: ns, name: "flaky-app" }, { files: { "cm.yaml": configMap("flaky-app", "{ v: '1' }") } });
    await expect.poll(() => row(page, "flaky").getAttribute("data-ready"), { timeout: 60_000 }).toBe("True");
    expect(await stageChip(page, "flaky", "app").getAttribute("data-phase")).toBe("Ready");
    expect(await row(page, "flaky").locator(".failure").count()).toBe(0);
    // The same document all along: live, not reloaded.
    expect(await page.evaluate(() => (globalThis as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
    await page.screenshot({ path: join(screenshotDir, "overview-recovered.png"), fullPage: true });
    await page.close();
  });

  it("draws a long list whole and in order (in chunks after the first screen), filters it, and updates a row in place", async () => {
    // A namespace no controller watches: its StageSets' status is written here, as a controller would.
    const many = await createTestNamespace("ui-many");
    const other = spawn(process.execPath, [join(root, "bin/stageset.mjs"), "ui", "-n", many], { env: { ...process.env, KUBECONFIG: inject("kubeconfig") }, stdio: ["ignore", "pipe", "inherit"] });
    try {
      const manyUrl = (await readyLine(other, /open (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/, "stageset ui"))[1]!;
      const names = Array.from({ length: 400 }, (_, i) => `r-${String(i).padStart(3, "0")}`);
      const status = (i: number) => ({ conditions: [{ type: "Ready", status: i % 7 === 0 ? "False" : "True", reason: i % 7 === 0 ? "HealthDegraded" : "ReconciliationSucceeded", message: "", lastTransitionTime: new Date().toISOString() }], stages: [{ name: "only", phase: i % 7 === 0 ? "Degraded" : "Ready", message: "x" }] });
      for (let i = 0; i < names.length; i += 20) {
        await Promise.all(names.slice(i, i + 20).map(async (name, j) => {
          await K8s(StageSet).Apply({ metadata: { name, namespace: many }, spec: { stages: [{ name: "only", sourceRef: { name: "none" } }] } } as StageSet);
          await K8s(StageSet).PatchStatus({ metadata: { name, namespace: many }, status: status(i + j) } as StageSet);
        }));
      }
      const page = await browser!.browser.newPage();
      await page.goto(manyUrl);
      await expect.poll(() => page.locator("#list > li").count(), { timeout: 30_000 }).toBe(names.length);
      expect(await page.locator("#list > li").evaluateAll(els => els.map(e => e.getAttribute("data-key")))).toEqual(names.map(n => `${many}/${n}`));
      // Keyboard: "/" goes to the filter.
      await page.keyboard.press("/");
      await page.keyboard.type("r-39");
      await expect.poll(() => page.locator("#list > li:not([hidden])").evaluateAll(els => els.map(e => e.getAttribute("data-key")))).toEqual(names.filter(n => n.startsWith("r-39")).map(n => `${many}/${n}`));
      expect(await page.locator("#count").textContent()).toBe(`(10 of ${names.length})`);
      await page.locator("#filter").fill("");
      await page.locator("#trouble").check();
      await expect.poll(() => page.locator("#list > li:not([hidden])").count()).toBe(names.filter((_, i) => i % 7 === 0).length);
      // A change to the last row: shown in place, the list still whole and in order.
      await K8s(StageSet).PatchStatus({ metadata: { name: "r-399", namespace: many }, status: status(0) } as StageSet);
      await expect.poll(() => page.locator(`li.ss[data-key="${many}/r-399"]`).getAttribute("data-ready")).toBe("False");
      expect(await page.locator("#list > li").count()).toBe(names.length);
      await page.close();
    } finally {
      await killChild(other, "SIGTERM");
      await deleteTestNamespace(many);
    }
  }, 180_000);

  it("answers only the browser that opened its address with the token, at its own Host, on loopback", async () => {
    const base = new URL(url);
    const bare = `http://127.0.0.1:${base.port}`;
    expect((await fetch(`${bare}/events`)).status).toBe(401);
    expect((await fetch(`${bare}/api/stagesets/${ns}/demo`)).status).toBe(401);
    expect((await fetch(`${bare}/?token=wrong`)).status).toBe(401);
    const opened = await fetch(url, { redirect: "manual" });
    expect(opened.status).toBe(303);
    const cookie = opened.headers.get("set-cookie")!.split(";")[0]!;
    expect(opened.headers.get("set-cookie")).toMatch(/HttpOnly; SameSite=Strict/);
    const detail = await fetch(`${bare}/api/stagesets/${ns}/demo`, { headers: { cookie } });
    expect(detail.status).toBe(200);
    expect(((await detail.json()) as { view: { ready: string } }).view.ready).toBe("True");
    // A DNS-rebinding page reaches the port under another name: refused even with the cookie.
    expect(await statusWithHost(`${bare}/api/stagesets/${ns}/demo`, cookie, `rebind.example:${base.port}`)).toBe(421);
    expect((await fetch(`${bare}/api/stagesets/${ns}/demo`, { method: "POST", headers: { cookie } })).status).toBe(405);
    expect((await fetch(`${bare}/`, { headers: { cookie } })).headers.get("content-security-policy")).toContain("default-src 'none'");
  });
});
