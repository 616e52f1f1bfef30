// A newcomer's first five minutes, scripted: a fresh clone, the README's run command with no
// cluster configured, and the demo release rolling out on the embedded control plane until
// the gate answers 200 for all three stages; then Ctrl-C stops everything it started.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";
import { createServer as createTcpServer } from "node:net";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const dir = mkdtempSync(join(tmpdir(), "stageset-newcomer-"));
let group: number | undefined;
afterAll(async () => {
  // Pass or fail, nothing the run command started may outlive the test.
  if (group !== undefined && survivors(group).length > 0) {
    for (const signal of ["SIGINT", "SIGKILL"] as const) {
      try {
        process.kill(-group, signal);
      } catch {
        break; // the group is gone
      }
      await new Promise(ok => setTimeout(ok, 5_000));
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

const freePort = () =>
  new Promise<number>(ok => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });

/** Processes still running in the run command's process group (an exited one not yet reaped does not count). */
const survivors = (pgid: number) =>
  execFileSync("ps", ["-eo", "pgid=,pid=,args="], { encoding: "utf8" })
    .split("\n")
    .filter(l => l.trim().split(/\s+/)[0] === String(pgid) && !l.includes("<defunct>"));

it("fresh clone, npm start: the demo's three stages go Ready and the gate answers 200 for each, within 2 minutes", async () => {
  execFileSync("git", ["clone", "--quiet", root, join(dir, "stageset")]);
  const clone = join(dir, "stageset");
  const env: NodeJS.ProcessEnv = { ...process.env, STAGESET_GATE_ADDRESS: `127.0.0.1:${await freePort()}`, STAGESET_METRICS_ADDRESS: `127.0.0.1:${await freePort()}` };
  delete env.KUBECONFIG; // no cluster configured: the embedded control plane
  const started = Date.now();
  const run = spawn("npm", ["start"], { cwd: clone, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  group = run.pid;
  let out = "";
  run.stdout!.on("data", d => (out += d));
  run.stderr!.on("data", d => (out += d));
  const exited = new Promise<number | null>(ok => run.once("exit", code => ok(code)));
  const deadline = started + 120_000;
  while (!out.includes("all three stages Ready") && Date.now() < deadline && run.exitCode === null) await new Promise(ok => setTimeout(ok, 250));
  const seconds = (Date.now() - started) / 1000;
  console.log(`newcomer: npm install + control plane + pepr dev + demo Ready in ${seconds.toFixed(1)}s`);
  expect(out, "the run command's output").toContain("all three stages Ready");
  for (const stage of ["crds", "config", "app"]) expect(out).toContain(`gate GET /gate/stageset-demo/demo/${stage} -> 200 ready`);
  // Live progress, stage by stage, in order (what is printed between depends on the machine's speed).
  const readyAt = ["crds", "config", "app"].map(stage => out.search(new RegExp(`demo: stage ${stage} +Ready`)));
  expect(readyAt.every(at => at >= 0), `every stage reported Ready:\n${out.slice(-2000)}`).toBe(true);
  expect([...readyAt].sort((a, b) => a - b)).toEqual(readyAt);

  process.kill(-run.pid!, "SIGINT"); // Ctrl-C in the terminal signals the whole group
  await Promise.race([exited, new Promise(ok => setTimeout(ok, 30_000))]);
  await new Promise(ok => setTimeout(ok, 2000));
  expect(survivors(run.pid!), `processes left after Ctrl-C:\n${out.slice(-2000)}`).toEqual([]);
  expect(out).toContain("stopping");
}, 240_000);

it("npm start with port 3000 taken stops at once, naming the port, and leaves nothing running", async () => {
  const holder = createTcpServer();
  await new Promise<void>(ok => holder.listen(3000, ok));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.KUBECONFIG;
    const started = Date.now();
    const run = spawn("npm", ["start"], { cwd: root, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    run.stdout!.on("data", d => (out += d));
    run.stderr!.on("data", d => (out += d));
    const code = await new Promise<number | null>(ok => run.once("exit", c => ok(c)));
    expect(code).not.toBe(0);
    expect(out).toContain("port 3000 is in use: `pepr dev` serves the module's admission webhooks there");
    expect(out).not.toContain("starting the embedded local control plane");
    expect(Date.now() - started).toBeLessThan(30_000);
    await new Promise(ok => setTimeout(ok, 500));
    expect(survivors(run.pid!)).toEqual([]);
  } finally {
    await new Promise(ok => holder.close(ok));
  }
}, 60_000);

/** Processes pepr dev started (in process groups of their own), anywhere on the machine. */
const peprDevProcesses = () =>
  execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" })
    .split("\n")
    .filter(l => /pepr dev --yes|pepr-stageset-controller\.js/.test(l) && !l.includes("<defunct>"));

it("a SIGTERM to the npm start process alone (as a supervisor sends it) stops everything it started", async () => {
  const gate = `127.0.0.1:${await freePort()}`;
  const env: NodeJS.ProcessEnv = { ...process.env, STAGESET_DEMO: "0", STAGESET_GATE_ADDRESS: gate, STAGESET_METRICS_ADDRESS: `127.0.0.1:${await freePort()}` };
  delete env.KUBECONFIG;
  const run = spawn("npm", ["start"], { cwd: root, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  group = run.pid;
  let out = "";
  run.stdout!.on("data", d => (out += d));
  run.stderr!.on("data", d => (out += d));
  const exited = new Promise<void>(ok => run.once("exit", () => ok()));
  // Running in full: the controller answers on its gate.
  const deadline = Date.now() + 150_000;
  while (Date.now() < deadline && run.exitCode === null && !(await fetch(`http://${gate}/gate/x/y/z`).then(() => true, () => false))) await new Promise(ok => setTimeout(ok, 500));
  // (It answers 403 for a stage it does not know: it discloses nothing but readiness.)
  expect(await fetch(`http://${gate}/gate/x/y/z`).then(r => r.status, () => 0), `the controller's gate answering:\n${out.slice(-2000)}`).toBe(403);
  expect(peprDevProcesses().length).toBeGreaterThan(0);

  process.kill(run.pid!, "SIGTERM"); // npm alone, not its group
  await Promise.race([exited, new Promise(ok => setTimeout(ok, 30_000))]);
  const settled = Date.now() + 15_000;
  while (Date.now() < settled && (survivors(run.pid!).length > 0 || peprDevProcesses().length > 0)) await new Promise(ok => setTimeout(ok, 500));
  expect(survivors(run.pid!), `left in npm's group:\n${out.slice(-2000)}`).toEqual([]);
  expect(peprDevProcesses(), "pepr dev and the module").toEqual([]);
}, 240_000);
