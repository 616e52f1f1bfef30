// The gate and metrics servers: thin shells around answer() and the metrics registry.
import type http from "node:http";
import type { Registry } from "prom-client";
import { answer } from "./answer";
import { listen, type Listener } from "./listen";
import type { ReadinessView } from "./view";

/** A POST body (Flagger sends a small JSON payload) is read up to this size and ignored. */
export const maxBodyBytes = 64 * 1024;

export function startGateServer(address: string, view: ReadinessView): Promise<Listener> {
  return listen(address, (req, res) => {
    const reply = () => {
      const a = answer({ method: req.method ?? "", url: req.url ?? "", accept: req.headers.accept }, view);
      res.writeHead(a.status, a.headers);
      res.end(req.method === "HEAD" ? undefined : a.body);
    };
    if (!hasBody(req)) return reply();
    let seen = 0;
    req.on("data", (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBodyBytes && !res.headersSent) {
        res.writeHead(413, { "content-type": "text/plain; charset=utf-8", connection: "close" });
        res.end("request body too large\n", () => req.destroy());
      }
    });
    req.on("end", () => res.headersSent || reply());
  });
}

/**
 * /metrics, and /readyz for the readiness probe: 200 once this replica's view is whole
 * (synced), 503 before, so the gate Service sends a starting replica no requests yet.
 */
export function startMetricsServer(address: string, registry: Registry, synced: () => boolean = () => true): Promise<Listener> {
  return listen(address, (req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (path === "/readyz") {
      const ok = synced();
      return void res.writeHead(ok ? 200 : 503, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" }).end(req.method === "HEAD" ? undefined : ok ? "synced\n" : "syncing\n");
    }
    if (path !== "/metrics") return void res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found\n");
    if (req.method !== "GET" && req.method !== "HEAD") return void res.writeHead(405, { allow: "GET, HEAD" }).end();
    registry.metrics().then(
      text => res.writeHead(200, { "content-type": registry.contentType }).end(req.method === "HEAD" ? undefined : text),
      (err: unknown) => res.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end(`metrics unavailable: ${String(err)}\n`),
    );
  });
}

function hasBody(req: http.IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}
