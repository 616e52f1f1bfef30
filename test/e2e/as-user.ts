// Commands run as a user runs them in the repository, against a node cluster. Asynchronous:
// a build, a deploy or a helm install takes minutes, and a worker blocked that long loses its
// link to the test runner.
import { execFile } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { NodeCluster } from "../../local-cluster/nodes";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Runs cmd in the repository with KUBECONFIG set to the cluster's; its stdout, or an error with both outputs. */
export async function asUser(cluster: NodeCluster, cmd: string, args: string[], timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(cmd, args, {
      cwd: root,
      encoding: "utf8",
      timeout: timeoutMs,
      maxBuffer: 64 << 20,
      env: { ...process.env, KUBECONFIG: cluster.controlPlane.kubeconfig },
    });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(" ")} failed: ${(err as Error).message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`, { cause: err });
  }
}

/** Polls probe until it returns a value (not false or undefined; a throw counts as not yet). */
export async function eventually<T>(what: string, probe: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise(ok => setTimeout(ok, 500));
  }
}

/**
 * Polls (a short `kubectl get` every half second) until the StageSet's Ready condition is
 * True. Not `kubectl wait`: a synchronous call that long would block this process's event
 * loop, and with it the artifact server the pods download from.
 */
export function stageSetReady(cluster: NodeCluster, namespace: string, name: string, timeoutMs = 300_000): Promise<string> {
  const ready = () => cluster.kubectl(["-n", namespace, "get", "stageset", name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`]) === "True" && "Ready";
  return eventually(`StageSet ${namespace}/${name} Ready`, ready, timeoutMs);
}

/** kubectl's output, or its error text when it fails (a refusal is what some checks want). */
export function refusal(cluster: NodeCluster, args: string[], input: string): string {
  try {
    return cluster.kubectl(args, input);
  } catch (err) {
    return `${(err as { stderr?: string }).stderr ?? ""} ${(err as Error).message}`;
  }
}

/** A StageSet whose ready check does not evaluate to a bool: admission must refuse it, naming the field. */
export function invalidExprStageSet(namespace: string): string {
  return `apiVersion: stageset.dev/v1alpha1
kind: StageSet
metadata: { name: bad, namespace: ${namespace} }
spec:
  stages:
  - name: a
    sourceRef: { name: src }
    readyChecks: { exprs: [{ apiVersion: apps/v1, kind: Deployment, current: "1 + 1" }] }
`;
}

/** The refusal of invalidExprStageSet, as kubectl prints it. */
export const invalidExprRefused = /admission webhook .*spec\.stages\[0\]\.readyChecks\.exprs\[0\]: .*must evaluate to a bool/;
