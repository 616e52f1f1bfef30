// Runs the StageSet module in a child process through Pepr's runtime in watch mode, exactly
// as the watcher pod wires it (run-module.ts), scoped to the given namespaces. Tests talk to
// its gate and metrics over HTTP, as Flagger, Argo and Prometheus do.
import { watcherNodeOptions } from "../../scripts/watcher-env";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { K8s, kind } from "pepr";
import { killChild, readyLine } from "./controller-process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface ModuleProcess {
  child: ChildProcess;
  gate: string;
  metrics: string;
  stop(): Promise<void>;
}

export const freePort = () =>
  new Promise<number>(ok => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });

export interface ModuleOptions {
  namespaces: string[];
  kubeconfig: string;
  harnessBinDir: string;
  env?: Record<string, string>;
  /**
   * Run the module bundled to plain JavaScript by node, as production runs it, instead of
   * through tsx (whose loader alone holds ~80 MiB): for measuring memory.
   */
  bundled?: boolean;
}

/** The module bundled as pepr build bundles it: our code in one file, dependencies from node_modules. */
export function bundleModule(): string {
  // Inside the repository, so its require() calls find node_modules as the pod's do.
  const out = join(root, "node_modules/.cache/stageset-module/module.cjs");
  execFileSync(join(root, "node_modules/.bin/esbuild"), [join(root, "test/harness/run-module.ts"), "--bundle", "--platform=node", "--target=node20", "--format=cjs", "--packages=external", `--outfile=${out}`, "--log-level=warning"], { cwd: root });
  return out;
}

export async function spawnModule(opts: ModuleOptions): Promise<ModuleProcess> {
  // Pepr keeps its store there and starts its watches only once the store is set up (as in a
  // cluster, where its pods run in that namespace).
  await K8s(kind.Namespace).Apply({ metadata: { name: "pepr-system" } });
  // Pepr's watcher serves /healthz and /metrics over TLS: any certificate will do.
  const pki = join(mkdtempSync(join(tmpdir(), "stageset-module-")), "pki");
  execFileSync(join(opts.harnessBinDir, "k8s-harness"), ["pki", pki]);
  const [peprPort, gatePort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const args = opts.bundled ? [bundleModule()] : ["--import", "tsx", join(root, "test/harness/run-module.ts")];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: {
      ...process.env,
      KUBECONFIG: opts.kubeconfig,
      PEPR_WATCH_MODE: "true",
      PEPR_PORT: String(peprPort),
      SSL_CERT_PATH: join(pki, "apiserver.crt"),
      SSL_KEY_PATH: join(pki, "apiserver.key"),
      STAGESET_WATCH_NAMESPACES: opts.namespaces.join(","),
      STAGESET_GATE_ADDRESS: `127.0.0.1:${gatePort}`,
      STAGESET_METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
      LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
      // Bundled is "as production runs it": with the watcher pod's Node options too.
      ...(opts.bundled ? { NODE_OPTIONS: watcherNodeOptions } : {}),
      ...opts.env,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await readyLine(child, /^ready$/m, "the module");
  return {
    child,
    gate: `http://127.0.0.1:${gatePort}`,
    metrics: `http://127.0.0.1:${metricsPort}`,
    stop: () => killChild(child),
  };
}
