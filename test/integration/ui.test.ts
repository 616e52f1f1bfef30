// `stageset ui` as a user runs it (bin/stageset.mjs ui, a child process with their kubeconfig)
// and looks at it (headless Chromium): the demo release rolled out by the module's Pepr
// bindings on the real control plane, a failing stage shown failed with its reason and turning
// Ready live without a reload, a StageSet's page with each object's health and the gate's
// answer, hostile text shown as text, and the view refusing what is not the user's browser.
// Screenshots go to test-output/ui.
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Socket, type AddressInfo } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { K8s, kind } from "pepr";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import { StageSet } from "../../capabilities/api";
import { startArtifactServer, type ArtifactServer } from "../../local-cluster/artifact-server";
import { launchBrowser, screenshotDir } from "../harness/browser";
import { createTestNamespace, deleteTestNamespace, eventually, serviceAccountKubeconfig } from "../harness/cluster";
import { spawnModule, type ModuleProcess } from "../harness/module-process";
import { answerWithHost, startUiProcess, type UiProcess } from "../harness/ui-process";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
let ns: string;
let artifacts: ArtifactServer;
let module: ModuleProcess | undefined;
let ui: UiProcess | undefined;
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
  ui = await startUiProcess(["-n", ns, "--gate-url", module.gate], inject("kubeconfig"));
  url = ui.url;
  browser = await launchBrowser();
  await eventually(() => read("demo"), ready, { what: "the demo release Ready", timeoutMs: 120_000 });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await ui?.stop();
  await module?.stop();
  await artifacts?.stop();
  if (ns) await deleteTestNamespace(ns);
});

/** A page; every request it makes is recorded, to check that it asks nothing of anywhere but the view. */
async function open(at = url, opts: { bypassCSP?: boolean } = {}): Promise<{ page: Page; requested: string[]; details: string[] }> {
  const page = await browser!.browser.newPage({ viewport: { width: 1280, height: 800 }, ...opts });
  const requested: string[] = [];
  const details: string[] = [];
  page.on("request", r => void requested.push(r.url()));
  page.on("response", r => {
    if (r.url().includes("/api/stagesets/")) void r.text().then(body => details.push(body), () => undefined);
  });
  await page.goto(at);
  return { page, requested, details };
}

const row = (page: Page, name: string) => page.locator(`li.ss[data-key="${ns}/${name}"]`);
const stageChip = (page: Page, name: string, stage: string) => row(page, name).locator(`li.stage[data-stage="${stage}"]`);

describe("stageset ui", () => {
  it("shows the demo release as a pipeline of Ready stages, reached by keyboard alone, and its page each object's health and the gate's answer; asks nothing of any other address", async () => {
    // Without the Content-Security-Policy, so that a request to anywhere else would be made, and seen.
    const { page, requested, details } = await open(url, { bypassCSP: true });
    await expect.poll(() => row(page, "demo").getAttribute("data-ready"), { timeout: 10_000 }).toBe("True");
    expect(await row(page, "demo").locator("li.stage").evaluateAll(els => els.map(e => `${e.getAttribute("data-stage")}:${e.getAttribute("data-phase")}`))).toEqual(["crds:Ready", "config:Ready", "app:Ready"]);
    expect(await stageChip(page, "demo", "app").innerText()).toMatch(/app\s*Ready\s*v1@sha256:[0-9a-f]{12}\b/);
    // The gate's answer for each stage, asked of the module's gate as Flagger asks it.
    await expect.poll(() => row(page, "demo").locator("li.stage .gate").allInnerTexts(), { timeout: 10_000 }).toEqual(["gate open", "gate open", "gate open"]);
    await page.screenshot({ path: join(screenshotDir, "overview-demo.png"), fullPage: true });
    // By keyboard alone: the skip link first (it moves focus to the content and leaves the page as it is), then the filter, the checkbox and the StageSet's link.
    const focused = () => page.evaluate<string>("(e => `${e.tagName}#${e.id} ${e.textContent}`.trim())(document.activeElement)");
    await page.keyboard.press("Tab");
    expect(await focused()).toBe("A# Skip to content");
    await page.locator("#list").evaluate(list => ((list as unknown as { marked: boolean }).marked = true));
    await page.keyboard.press("Enter");
    expect(await focused()).toMatch(/^MAIN#main /);
    expect(await page.locator("#list").evaluate(list => (list as unknown as { marked?: boolean }).marked)).toBe(true);
    expect(new URL(page.url()).hash).toBe("");
    await page.keyboard.press("Tab");
    expect(await focused()).toBe("INPUT#filter");
    await page.keyboard.press("Tab");
    expect(await focused()).toBe("INPUT#trouble");
    await page.keyboard.press("Tab");
    expect(await focused()).toBe(`A# ${ns}/demo`);
    await page.keyboard.press("Enter");
    const app = page.locator('section.stage-detail[data-stage="app"]');
    await expect.poll(() => app.locator("[data-gate]").getAttribute("data-gate"), { timeout: 10_000 }).toBe("200");
    expect(await app.locator("tbody tr").allInnerTexts()).toContainEqual(expect.stringMatching(/^Deployment .*\/web\tCurrent/));
    expect(await page.locator('section.stage-detail[data-stage="crds"] tbody').innerText()).toMatch(/CustomResourceDefinition greetings\.ui-test\.stageset\.dev\tCurrent/);
    const tableAfter = (heading: string) => page.locator(`h3:text-is("${heading}") + table tbody tr`);
    expect(await tableAfter("Conditions").allInnerTexts()).toContainEqual(expect.stringMatching(/^Ready\tTrue\tReconciliationSucceeded\t/));
    expect(await tableAfter("Recent Events").count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(screenshotDir, "stageset-demo.png"), fullPage: true });
    // The page looks again every few seconds and redraws only when the answer changed; either way the keyboard focus stays.
    await page.locator("#back").focus();
    await page.locator("main h2").evaluate(h2 => ((h2 as unknown as { marked: boolean }).marked = true));
    const shown = details.at(-1);
    const before = details.length;
    await expect.poll(() => details.length, { timeout: 30_000 }).toBeGreaterThan(before + 1);
    const redrawn = details.slice(before).some(body => body !== shown);
    expect(await page.locator("main h2").evaluate(h2 => (h2 as unknown as { marked?: boolean }).marked)).toBe(redrawn ? undefined : true);
    expect(await focused()).toBe("A#back ← all releases");
    // Back on the overview, the focus is on the StageSet just left.
    await page.keyboard.press("Enter");
    await expect.poll(focused).toBe(`A# ${ns}/demo`);
    // Everything the page loaded came from the view itself, under its token: no CDN, no other host.
    expect(requested.length).toBeGreaterThan(5);
    expect(requested.filter(u => !u.startsWith(url))).toEqual([]);
    await page.close();
  }, 60_000);

  it("shows a failing release with its reason, hostile text as text, a failed stage failed, and turns Ready live without a reload", async () => {
    const configMap = (name: string, data: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: ${data}\n`;
    await artifacts.publish({ namespace: ns, name: "flaky-db" }, { files: { "cm.yaml": configMap("flaky-db", "{ v: '1' }") } });
    await artifacts.publish({ namespace: ns, name: "flaky-app" }, { files: { [hostileFile]: "kind: [unclosed\n" } });
    // Without the Content-Security-Policy's help: the escaping alone must keep the hostile name inert.
    const { page } = await open(url, { bypassCSP: true });
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
    // The StageSet's own page shows the message whole, as text too.
    await row(page, "flaky").locator("a.name").click();
    await expect.poll(() => page.locator('section.stage-detail[data-stage="app"] dd.msg').textContent(), { timeout: 10_000 }).toContain(hostileFile);
    expect(await page.locator("main img").count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { xss?: number }).xss)).toBeUndefined();
    await page.locator("#back").click();
    // An object the API server refuses fails the stage that applies it.
    await artifacts.publish({ namespace: ns, name: "flaky-app" }, { files: { "cm.yaml": configMap("flaky-app", "{ v: [not, a, string] }") } });
    await expect.poll(() => row(page, "flaky").locator(".failure").textContent(), { timeout: 60_000 }).toMatch(/^ApplyFailed: stage app: /);
    expect(await stageChip(page, "flaky", "app").getAttribute("data-phase")).toBe("Failed");
    expect(await stageChip(page, "flaky", "db").getAttribute("data-phase")).toBe("Ready");
    await expect.poll(() => row(page, "flaky").locator("li.stage .gate").allInnerTexts(), { timeout: 10_000 }).toEqual(["gate open", "gate closed"]);
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
    const other = await startUiProcess(["-n", many], inject("kubeconfig"));
    try {
      const manyUrl = other.url;
      const names = Array.from({ length: 400 }, (_, i) => `r-${String(i).padStart(3, "0")}`);
      const now = Date.now();
      const at = (offsetS: number) => new Date(now + offsetS * 1000).toISOString();
      const status = (i: number) => ({
        conditions: [{ type: "Ready", status: i % 7 === 0 ? "False" : "True", reason: i % 7 === 0 ? "HealthDegraded" : "ReconciliationSucceeded", message: "", lastTransitionTime: at(0) }],
        stages: [{ name: "only", phase: i % 7 === 0 ? "Degraded" : "Ready", message: "x", lastTransitionTime: at(-600), ...(i === 1 ? { soakEndsAt: at(3600) } : {}) }],
        // One release with a run under way, a ledger and a soak: the row says all three.
        ...(i === 1
          ? {
              runStartedAt: at(-90),
              approvals: [{ stage: "only", revision: "v1", approvedBy: "alice@example.com", approvedAt: at(-85) }],
              actions: [
                { stage: "only", hook: "pre", name: "migrate", revision: "v1", phase: "Succeeded", attempts: 1, startedAt: at(-80) },
                { stage: "only", hook: "post", name: "smoke", revision: "v1", phase: "Failed", attempts: 3, startedAt: at(-30) },
              ],
            }
          : {}),
      });
      for (let i = 0; i < names.length; i += 20) {
        await Promise.all(names.slice(i, i + 20).map(async (name, j) => {
          await K8s(StageSet).Apply({ metadata: { name, namespace: many }, spec: { suspend: i + j === 1, stages: [{ name: "only", sourceRef: { name: "none" } }] } } as StageSet);
          await K8s(StageSet).PatchStatus({ metadata: { name, namespace: many }, status: status(i + j) } as StageSet);
        }));
      }
      const page = await browser!.browser.newPage();
      await page.goto(manyUrl);
      await expect.poll(() => page.locator("#list > li").count(), { timeout: 30_000 }).toBe(names.length);
      expect(await page.locator("#list > li").evaluateAll(els => els.map(e => e.getAttribute("data-key")))).toEqual(names.map(n => `${many}/${n}`));
      // Drawn in chunks: the first screen of rows painted on its own, the whole list after.
      expect(await page.evaluate<number[]>(`["stagesets-first-painted", "stagesets-painted"].map(n => performance.getEntriesByName(n).at(-1)?.detail)`)).toEqual([60, names.length]);
      // A row: the Ready reason, suspended, when the run started, the ledger counted; a stage's time in its phase, or the end of its soak.
      expect(await page.locator(`li.ss[data-key="${many}/r-001"] .head`).innerText()).toMatch(/^ui-many-\w+\/r-001\s+Ready=True\s+ReconciliationSucceeded\s+suspended · run started (?:9\ds|1\d\ds|\dm) ago · actions: 1 succeeded, 1 failed$/);
      expect(await page.locator(`li.ss[data-key="${many}/r-001"] li.stage`).innerText()).toMatch(/^only\s+Ready\s+-\s+until \d{1,2}:\d\d:\d\d/);
      expect(await page.locator(`li.ss[data-key="${many}/r-000"]`).innerText()).toMatch(/Ready=False\s+HealthDegraded[\s\S]*only\s+Degraded\s+-\s+1\dm ago/);
      // A stage that is not Ready: its message is in the chip for a screen reader, not only in a mouse's tooltip.
      expect(await page.locator(`li.ss[data-key="${many}/r-000"] li.stage .vh`).textContent()).toBe(": x");
      // Keyboard: "/" goes to the filter.
      await page.keyboard.press("/");
      await page.keyboard.type("r-39");
      await expect.poll(() => page.locator("#list > li:not([hidden])").evaluateAll(els => els.map(e => e.getAttribute("data-key")))).toEqual(names.filter(n => n.startsWith("r-39")).map(n => `${many}/${n}`));
      expect(await page.locator("#count").textContent()).toBe(`(10 of ${names.length})`);
      await page.locator("#filter").fill("");
      await page.locator("#trouble").check();
      await expect.poll(() => page.locator("#list > li:not([hidden])").count()).toBe(names.filter((_, i) => i % 7 === 0).length);
      // A change to a row near the end (Ready, now degraded): shown in place, the list still whole and in order, and the
      // keyboard focus on its link stays there.
      await page.locator("#trouble").uncheck();
      const last = page.locator(`li.ss[data-key="${many}/r-398"]`);
      expect(await last.getAttribute("data-ready")).toBe("True");
      await last.locator("a.name").focus();
      await K8s(StageSet).PatchStatus({ metadata: { name: "r-398", namespace: many }, status: status(0) } as StageSet);
      await expect.poll(() => last.getAttribute("data-ready")).toBe("False");
      expect(await page.evaluate<string>("document.activeElement.textContent")).toBe(`${many}/r-398`);
      expect(await page.locator("#list > li").evaluateAll(els => els.map(e => e.getAttribute("data-key")))).toEqual(names.map(n => `${many}/${n}`));
      // Its page: the whole action ledger and the approvals.
      await page.locator(`li.ss[data-key="${many}/r-001"] a.name`).click();
      const tableAfter = (heading: string) => page.locator(`h3:text-is("${heading}") + table tbody tr`);
      await expect.poll(() => tableAfter("Action ledger").allInnerTexts(), { timeout: 10_000 }).toEqual([
        expect.stringMatching(/^only\tpre\tmigrate\tv1\tSucceeded\t1\t\d{4}-/),
        expect.stringMatching(/^only\tpost\tsmoke\tv1\tFailed\t3\t\d{4}-/),
      ]);
      expect(await tableAfter("Approvals").allInnerTexts()).toEqual([expect.stringMatching(/^only\tv1\talice@example\.com\t\d{4}-/)]);
      await page.close();
    } finally {
      await other.stop();
      await deleteTestNamespace(many);
    }
  }, 180_000);

  it("answers only under the token it printed, at its own Host, GET only, and says what is wrong", async () => {
    const base = new URL(url);
    const bare = `http://127.0.0.1:${base.port}`;
    const token = base.pathname.split("/")[1]!;
    for (const path of ["/", "/events", `/api/stagesets/${ns}/demo`, `/${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}/`, `/${token}x/`]) {
      const res = await fetch(`${bare}${path}`);
      expect([path, res.status, await res.text()]).toEqual([path, 401, "open the address `stageset ui` printed (it carries the token this view needs)\n"]);
    }
    // The token's folder without its slash is sent to it (the page's own addresses are relative to it).
    const folder = await fetch(`${bare}/${token}`, { redirect: "manual" });
    expect([folder.status, folder.headers.get("location")]).toEqual([308, `/${token}/`]);
    const detail = await fetch(`${url}api/stagesets/${ns}/demo`);
    expect(detail.status).toBe(200);
    expect(((await detail.json()) as { view: { ready: string } }).view.ready).toBe("True");
    expect((await fetch(`${url}api/stagesets/${ns}/nothing-here`)).status).toBe(404);
    expect((await fetch(`${url}api/stagesets/${ns}/%E0%A4%A`)).status).toBe(400);
    // A DNS-rebinding page reaches the port under another name; "localhost" is not the address printed either.
    for (const name of ["constructor", "__proto__", "toString", "app.js/x"]) expect([name, (await fetch(`${url}${name}`)).status]).toEqual([name, 404]);
    for (const host of [`rebind.example:${base.port}`, `localhost:${base.port}`, "127.0.0.1"]) expect([host, ...(await answerWithHost(`${url}api/stagesets/${ns}/demo`, host))]).toEqual([host, 421, `this view answers only at its own address, 127.0.0.1:${base.port}\n`]);
    for (const method of ["POST", "PUT", "DELETE", "HEAD", "OPTIONS"]) {
      const res = await fetch(url, { method });
      expect([method, res.status, res.headers.get("allow"), method === "HEAD" ? "" : await res.text()]).toEqual([method, 405, "GET", method === "HEAD" ? "" : "read-only\n"]);
    }
    const page = await fetch(url);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    expect(page.headers.get("set-cookie")).toBeNull();
  });

  it("shows a gate that does not answer as not reachable, naming the flag that gives its address, and stops while asking it", async () => {
    // A gate that accepts the connection and never answers (a black-holed Service, a hung port-forward).
    const sockets: Socket[] = [];
    let asked = "";
    const silent = createServer(socket => {
      sockets.push(socket);
      socket.on("data", chunk => void (asked ||= chunk.toString()));
    });
    await new Promise<void>(ok => silent.listen(0, "127.0.0.1", ok));
    const quiet = await startUiProcess(["-n", ns, "--gate-url", `http://user:s3cret@127.0.0.1:${(silent.address() as AddressInfo).port}`], inject("kubeconfig"));
    try {
      // Opened at once: the view answers 503 until it has listed StageSets, then the StageSet.
      const res = await eventually(() => fetch(`${quiet.url}api/stagesets/${ns}/demo`), r => r.status !== 503, { what: "the view to have listed" });
      expect(res.status).toBe(200);
      const detail = (await res.json()) as { gate: { url: string; answers: { stage: string; status?: number; answer: string }[] } };
      // The address's credentials are sent as Basic auth (as curl sends them), and never shown.
      expect(asked).toMatch(/^GET \/gate\/ui-\w+\/demo\/(crds|config|app) HTTP\/1\.1\r\n[\s\S]*\r\nauthorization: Basic dXNlcjpzM2NyZXQ=\r\n/i);
      expect(detail.gate.url).not.toContain("s3cret");
      expect(detail.gate.answers.map(a => [a.stage, a.status, a.answer])).toEqual(
        ["crds", "config", "app"].map(stage => [stage, undefined, expect.stringMatching(/^the gate at http:\/\/127\.0\.0\.1:\d+\/ does not answer \(.*\); give its address with --gate-url or STAGESET_GATE_URL$/)]),
      );
      // A page asking again while the view stops: the view exits without waiting for the gate.
      void fetch(`${quiet.url}api/stagesets/${ns}/demo`).catch(() => undefined);
      await eventually(async () => sockets.length, n => n >= 6, { what: "the second round of gate questions under way" });
      // Stopped while the gate holds its questions: it exits well before the questions' own 2 s bound would end them twice over.
      const stopping = Date.now();
      await quiet.stop();
      expect(Date.now() - stopping).toBeLessThan(8_000);
    } finally {
      await quiet.stop();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it("says on the page and on the terminal when the user may not read StageSets", async () => {
    await K8s(kind.ServiceAccount).Apply({ metadata: { name: "no-rights", namespace: ns } });
    const kubeconfig = serviceAccountKubeconfig(inject("harnessBinDir"), inject("kubeconfig"), { namespace: ns, name: "no-rights" });
    const refused = await startUiProcess(["-A"], kubeconfig);
    try {
      const { page } = await open(refused.url);
      const forbidden = /^Cannot read StageSets \(Forbidden\): .*cannot list resource "stagesets" .* at the cluster scope/;
      await expect.poll(() => page.locator("#source-note").textContent(), { timeout: 30_000 }).toMatch(forbidden);
      // Said once to a screen reader (the alert region), and shown in the list's place.
      expect(await page.locator("#announce").textContent()).toMatch(forbidden);
      expect(await page.locator("#list > li").count()).toBe(0);
      expect(refused.stderr()).toMatch(/^stageset ui: cannot read StageSets \(Forbidden: .*cannot list resource "stagesets"/m);
      await page.screenshot({ path: join(screenshotDir, "overview-forbidden.png"), fullPage: true });
      // A StageSet's page says the same, rather than "Loading…" for ever.
      await page.goto(`${refused.url}#/ss/${ns}/demo`);
      await expect.poll(() => page.locator("main .banner").textContent(), { timeout: 10_000 }).toMatch(/^cannot read StageSets \(Forbidden\): /);
      await page.screenshot({ path: join(screenshotDir, "stageset-forbidden.png"), fullPage: true });
      // Its port is taken now: a second view on it says so and stops.
      const taken = new URL(refused.url).port;
      const second = await new Promise<{ code: number | null; err: string }>(ok =>
        execFile(process.execPath, [join(root, "bin/stageset.mjs"), "ui", "-A", "--port", taken], { env: { ...process.env, KUBECONFIG: kubeconfig }, timeout: 60_000 }, (error, _out, err) => ok({ code: error ? ((error as { code?: number }).code ?? null) : 0, err })),
      );
      expect([second.code, second.err]).toEqual([3, expect.stringContaining(`port ${taken} on 127.0.0.1 is in use: choose another with --port`)]);
      await page.close();
    } finally {
      await refused.stop();
    }
  });
});
