// The module's admission side, served by Pepr's own runtime (as in an admission pod, via
// run-admission.ts) and registered with the real API server as URL webhooks for the given
// namespaces only, so a leftover webhook never touches other test files' StageSets.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { K8s, kind } from "pepr";
import { kubectl } from "../../local-cluster/control-plane";
import { freePort } from "./module-process";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface AdmissionWebhook {
  stop(): Promise<void>;
}

export async function startAdmissionWebhook(opts: { namespaces: string[]; harnessBinDir: string; kubeconfig: string }): Promise<AdmissionWebhook> {
  const admin = (args: string[], input?: string) => kubectl(opts.harnessBinDir, opts.kubeconfig, args, input);
  const hookName = `stageset-admission-test-${randomBytes(3).toString("hex")}`;
  await K8s(kind.Namespace).Apply({ metadata: { name: "pepr-system" } }); // where Pepr keeps its store
  const pki = join(mkdtempSync(join(tmpdir(), "stageset-admission-")), "pki");
  execFileSync(join(opts.harnessBinDir, "k8s-harness"), ["pki", pki]); // a CA and a serving cert for 127.0.0.1
  const port = await freePort();
  const apiPath = randomBytes(16).toString("hex");
  const runtime: ChildProcess = spawn(process.execPath, ["--import", "tsx", join(root, "test/harness/run-admission.ts")], {
    cwd: root,
    env: { ...process.env, KUBECONFIG: opts.kubeconfig, ADMISSION_PORT: String(port), SSL_CERT_PATH: join(pki, "apiserver.crt"), SSL_KEY_PATH: join(pki, "apiserver.key"), PEPR_API_PATH: apiPath, LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const stop = async () => {
    admin(["delete", "--ignore-not-found", `mutatingwebhookconfiguration/${hookName}`, `validatingwebhookconfiguration/${hookName}`]);
    runtime.kill("SIGKILL");
  };
  try {
    const ca = readFileSync(join(pki, "ca.crt"));
    const deadline = Date.now() + 30_000;
    while (!(await healthy(port, ca))) {
      if (Date.now() > deadline) throw new Error("Pepr's admission server did not become healthy in 30 s");
      await new Promise(ok => setTimeout(ok, 200));
    }
    const hook = (kind: "mutate" | "validate") => ({
      name: `${kind}.stagesets.stageset.dev`,
      clientConfig: { url: `https://127.0.0.1:${port}/${kind}/${apiPath}`, caBundle: ca.toString("base64") },
      rules: [{ apiGroups: ["stageset.dev"], apiVersions: ["v1alpha1"], operations: ["CREATE", "UPDATE"], resources: ["stagesets"] }],
      namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: opts.namespaces }] },
      sideEffects: "None",
      admissionReviewVersions: ["v1"],
      failurePolicy: "Fail",
      timeoutSeconds: 10,
    });
    admin(["apply", "--server-side", "-f", "-"], JSON.stringify({ apiVersion: "admissionregistration.k8s.io/v1", kind: "List", items: [
      { apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration", metadata: { name: hookName }, webhooks: [hook("mutate")] },
      { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingWebhookConfiguration", metadata: { name: hookName }, webhooks: [hook("validate")] },
    ] }));
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}

/** Pepr binds its admission routes only once its store is ready: wait for /healthz. */
const healthy = (port: number, ca: Buffer) =>
  new Promise<boolean>(ok => {
    const req = https.get({ host: "127.0.0.1", port, path: "/healthz", ca }, res => (res.resume(), ok(res.statusCode === 200)));
    req.on("error", () => ok(false));
  });
