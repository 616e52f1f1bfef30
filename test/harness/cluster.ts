// Test helpers on the real API server: an isolated namespace per test file, a kubeconfig
// acting as a ServiceAccount, and eventually() for conditions that settle asynchronously.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { K8s, kind } from "pepr";
import { parse, stringify } from "yaml";
import { kubectl } from "../../local-cluster/control-plane";

export const testRunLabel = "stageset.dev/test-run";
const runId = randomBytes(3).toString("hex");

/** Creates a namespace `<prefix>-<random>` labelled with this run; returns its name. */
export async function createTestNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString("hex")}`;
  await K8s(kind.Namespace).Apply({ metadata: { name, labels: { [testRunLabel]: runId } } });
  return name;
}

export async function deleteTestNamespace(name: string): Promise<void> {
  await K8s(kind.Namespace).Delete(name);
}

/** A copy of the admin kubeconfig that authenticates as the ServiceAccount instead (a TokenRequest token, valid 1 h). */
export function serviceAccountKubeconfig(binDir: string, adminKubeconfig: string, sa: { namespace: string; name: string }): string {
  const token = kubectl(binDir, adminKubeconfig, ["create", "token", sa.name, "-n", sa.namespace, "--duration=1h"]).trim();
  const config = parse(readFileSync(adminKubeconfig, "utf8"));
  config.users = [{ name: sa.name, user: { token } }];
  config.contexts[0].context.user = sa.name;
  const file = join(mkdtempSync(join(tmpdir(), "stageset-sa-")), "kubeconfig");
  writeFileSync(file, stringify(config), { mode: 0o600 });
  return file;
}

export interface EventuallyOptions {
  timeoutMs?: number;
  intervalMs?: number;
  what: string;
}

/** Polls read() until accept() holds; fails with the last value seen. */
export async function eventually<T>(read: () => Promise<T>, accept: (v: T) => boolean, opts: EventuallyOptions): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: T | undefined;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (accept(last)) return last;
    } catch (err) {
      lastErr = err;
    }
    await new Promise(ok => setTimeout(ok, opts.intervalMs ?? 200));
  }
  const seen = last === undefined ? `error ${JSON.stringify(lastErr)}` : JSON.stringify(last, (k, v) => (k === "managedFields" ? undefined : v)).slice(0, 4000);
  throw new Error(`timed out waiting for ${opts.what}; last seen: ${seen}`);
}

/** A kind served by a CRD of the tests' own, as KFC's kindOverride spells it. */
export interface TestKind {
  group: string;
  version: string;
  kind: string;
  plural: string;
}

/**
 * A namespaced CRD that accepts any fields and has a status subresource, standing in for a
 * project the tests do not run (Argo Rollouts, Flux). Cluster-scoped and shared by the whole
 * run: applied idempotently, left in place. Resolves once it is Established.
 */
export async function installLooseCRD(k: TestKind): Promise<void> {
  const crd = {
    metadata: { name: `${k.plural}.${k.group}` },
    spec: {
      group: k.group,
      names: { kind: k.kind, plural: k.plural, singular: k.kind.toLowerCase(), listKind: `${k.kind}List` },
      scope: "Namespaced" as const,
      versions: [{ name: k.version, served: true, storage: true, subresources: { status: {} }, schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } }],
    },
  };
  await K8s(kind.CustomResourceDefinition).Apply(crd, { force: true });
  await eventually(() => K8s(kind.CustomResourceDefinition).Get(crd.metadata.name), c => c.status?.conditions?.some(x => x.type === "Established" && x.status === "True") ?? false, { what: `${crd.metadata.name} Established` });
}
