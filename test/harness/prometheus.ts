// A real Prometheus (Debian's build) on loopback, scraping the given targets every second,
// and its HTTP query API as Argo's Prometheus provider and a dashboard would use it.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scriptOutput } from "../../local-cluster/tools";

export interface Prometheus {
  url: string;
  /** An instant query; returns the API's `data` ({resultType, result}). */
  query(promql: string): Promise<{ resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }>;
  stop(): Promise<void>;
}

export async function startPrometheus(targets: string[]): Promise<Prometheus> {
  const bin = scriptOutput("scripts/fetch-prometheus.sh");
  const dir = mkdtempSync(join(tmpdir(), "stageset-prom-"));
  const hosts = targets.map(t => new URL(t).host);
  writeFileSync(join(dir, "prometheus.yml"), `global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: stageset
    metrics_path: /metrics
    static_configs: [{ targets: ${JSON.stringify(hosts)} }]
`);
  const port = await freePort();
  const child = spawn(bin, [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"], { stdio: ["ignore", "ignore", "inherit"] });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (!(await fetch(`${url}/-/ready`).then(r => r.ok, () => false))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`prometheus did not become ready (exit ${child.exitCode})`);
    await new Promise(ok => setTimeout(ok, 100));
  }
  return {
    url,
    async query(promql) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as { status: string; data: Awaited<ReturnType<Prometheus["query"]>>; error?: string };
      if (body.status !== "success") throw new Error(`query ${promql}: ${body.error}`);
      return body.data;
    },
    stop: () =>
      new Promise(ok => {
        child.once("exit", () => {
          rmSync(dir, { recursive: true, force: true });
          ok();
        });
        child.kill("SIGTERM");
      }),
  };
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
    s.once("error", fail);
  });
}
