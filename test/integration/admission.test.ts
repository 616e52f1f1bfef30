// Admission through the real API server: the module's Mutate and Validate handlers, served by
// Pepr's own runtime (as in an admission pod) and registered as URL webhooks for this test's
// namespace only. A bad StageSet is refused at apply time with a message naming the field.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import https from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { K8s, kind } from "pepr";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { StageSet } from "../../capabilities/api";
import { createTestNamespace, deleteTestNamespace } from "../harness/cluster";
import { kubectl } from "../../local-cluster/control-plane";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const admin = (args: string[], input?: string) => kubectl(inject("harnessBinDir"), inject("kubeconfig"), args, input);
let ns: string;
let runtime: ChildProcess | undefined;
const hookName = `stageset-admission-test-${randomBytes(3).toString("hex")}`;

const freePort = () => new Promise<number>(ok => { const s = createServer().listen(0, "127.0.0.1", () => { const { port } = s.address() as { port: number }; s.close(() => ok(port)); }); });

beforeAll(async () => {
  ns = await createTestNamespace("admission");
  await K8s(kind.Namespace).Apply({ metadata: { name: "pepr-system" } }); // where Pepr keeps its store
  const pki = join(mkdtempSync(join(tmpdir(), "stageset-admission-")), "pki");
  execFileSync(join(inject("harnessBinDir"), "k8s-harness"), ["pki", pki]); // a CA and a serving cert for 127.0.0.1
  const port = await freePort();
  const apiPath = randomBytes(16).toString("hex");
  runtime = spawn(process.execPath, ["--import", "tsx", join(root, "test/harness/run-admission.ts")], {
    cwd: root,
    env: { ...process.env, ADMISSION_PORT: String(port), SSL_CERT_PATH: join(pki, "apiserver.crt"), SSL_KEY_PATH: join(pki, "apiserver.key"), PEPR_API_PATH: apiPath, LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const deadline = Date.now() + 30_000;
  while (!(await healthy(port, readFileSync(join(pki, "ca.crt"))))) {
    if (Date.now() > deadline) throw new Error("Pepr's admission server did not become healthy in 30 s");
    await new Promise(ok => setTimeout(ok, 200));
  }
  const caBundle = readFileSync(join(pki, "ca.crt")).toString("base64");
  const hook = (kind: "mutate" | "validate") => ({
    name: `${kind}.stagesets.stageset.dev`,
    clientConfig: { url: `https://127.0.0.1:${port}/${kind}/${apiPath}`, caBundle },
    rules: [{ apiGroups: ["stageset.dev"], apiVersions: ["v1alpha1"], operations: ["CREATE", "UPDATE"], resources: ["stagesets"] }],
    // Only this file's namespace: a leftover webhook must not touch other tests' StageSets.
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } },
    sideEffects: "None",
    admissionReviewVersions: ["v1"],
    failurePolicy: "Fail",
    timeoutSeconds: 10,
  });
  admin(["apply", "--server-side", "-f", "-"], JSON.stringify({ apiVersion: "admissionregistration.k8s.io/v1", kind: "List", items: [
    { apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration", metadata: { name: hookName }, webhooks: [hook("mutate")] },
    { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingWebhookConfiguration", metadata: { name: hookName }, webhooks: [hook("validate")] },
  ] }));
}, 60_000);

afterAll(async () => {
  admin(["delete", "--ignore-not-found", `mutatingwebhookconfiguration/${hookName}`, `validatingwebhookconfiguration/${hookName}`]);
  runtime?.kill("SIGKILL");
  if (ns) await deleteTestNamespace(ns);
});

/** Pepr binds its admission routes only once its store is ready: wait for /healthz. */
const healthy = (port: number, ca: Buffer) =>
  new Promise<boolean>(ok => {
    const req = https.get({ host: "127.0.0.1", port, path: "/healthz", ca }, res => (res.resume(), ok(res.statusCode === 200)));
    req.on("error", () => ok(false));
  });

const stage = (name: string, extra: Record<string, unknown> = {}) => ({ name, sourceRef: { name: "src" }, ...extra });
const apply = (name: string, spec: Record<string, unknown>) => K8s(StageSet).Apply({ metadata: { name, namespace: ns }, spec } as unknown as StageSet);
const refusal = async (name: string, spec: Record<string, unknown>) => {
  const err = await apply(name, spec).then(() => undefined, (e: unknown) => e as { status?: number; data?: { message?: string } });
  expect(err, `${name} was accepted`).toBeDefined();
  return `${err!.status} ${err!.data?.message ?? JSON.stringify(err)}`;
};
const cel = (current: string) => ({ readyChecks: { exprs: [{ apiVersion: "apps/v1", kind: "Deployment", current }] } });

describe("admission", () => {
  it.each([
    // The API server itself refuses this one before admission (stages is a list keyed by name).
    { name: "dup", spec: { stages: [stage("db"), stage("db")] }, says: /\.spec\.stages: duplicate entries for key \[name="db"\]/ },
    { name: "badname", spec: { stages: [stage("DB_1")] }, says: /spec\.stages\[0\]\.name/ },
    { name: "cel-syntax", spec: { stages: [stage("a", cel("status.x =="))] }, says: /spec\.stages\[0\]\.readyChecks\.exprs\[0\]: .*current: does not parse/ },
    { name: "cel-type", spec: { stages: [stage("a", cel("1 + 1"))] }, says: /spec\.stages\[0\]\.readyChecks\.exprs\[0\]: .*must evaluate to a bool/ },
    { name: "cel-regex", spec: { stages: [stage("a", cel("metadata.name.matches('a(?=b)')"))] }, says: /spec\.stages\[0\]\.readyChecks\.exprs\[0\]: .*matches.*RE2/ },
    { name: "no-verb", spec: { stages: [stage("a", { actions: { pre: [{ name: "x" }] } })] }, says: /spec\.stages\[0\]\.actions\.pre\[0\]/ },
    { name: "two-verbs", spec: { stages: [stage("a", { actions: { pre: [{ name: "x", wait: { duration: "1s" }, delete: { target: { apiVersion: "v1", kind: "ConfigMap", name: "c" } } }] } })] }, says: /spec\.stages\[0\]\.actions\.pre\[0\].*(wait|delete)/ },
    // Only the webhook sees across lists: an action name used twice in one stage.
    { name: "dup-action", spec: { stages: [stage("a", { actions: { pre: [{ name: "x", wait: { duration: "1s" } }], post: [{ name: "x", wait: { duration: "1s" } }] } })] }, says: /admission webhook .*spec\.stages\[0\]\.actions\.post\[0\]\.name: "x" is already the name of/ },
    // The CRD's schema refuses a malformed duration; a zero one reaches the webhook.
    { name: "bad-duration", spec: { stages: [stage("a", { timeout: "soon" })] }, says: /spec\.stages\[0\]\.timeout/ },
    { name: "zero-duration", spec: { stages: [stage("a", { timeout: "0s" })] }, says: /admission webhook .*spec\.stages\[0\]\.timeout: "0s" must be longer than zero/ },
  ])("refuses $name, naming the field", async ({ name, spec, says }) => {
    const message = await refusal(name, spec);
    console.log(`admission ${name}: ${message}`);
    expect(message).toMatch(says);
  });

  it("refuses an update that breaks a valid StageSet, naming the field", async () => {
    await apply("upd", { stages: [stage("a")] });
    expect(await refusal("upd", { stages: [stage("a", cel("1 + 1"))] })).toMatch(/admission webhook .*spec\.stages\[0\]\.readyChecks\.exprs\[0\]: .*must evaluate to a bool/);
  });

  it("accepts a valid StageSet with the action defaults filled in", async () => {
    await apply("good", { stages: [stage("a", { actions: { post: [{ name: "settle", wait: { duration: "1s" } }] } })] });
    const ss = await K8s(StageSet).InNamespace(ns).Get("good");
    expect((ss.spec!.stages[0]!.actions as { post: unknown[] }).post[0]).toEqual({ name: "settle", wait: { duration: "1s" }, timeout: "5m", retries: 0 });
  });
});
