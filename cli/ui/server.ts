// `stageset ui`: a read-only web view on 127.0.0.1, read with the user's kubeconfig. One
// list-then-watch of StageSets feeds every open page over server-sent events; a StageSet's own
// page reads its objects, the gate and its Events when asked.
//
// It serves the user's cluster data with the user's credentials, so only the user may read it:
// it listens on loopback only, answers only requests whose Host is its own address (a DNS
// rebinding page cannot read it), and only a browser that opened the URL with the random token
// it printed (the token becomes an HttpOnly, SameSite=Strict cookie). Pages load no external
// asset, and the Content-Security-Policy forbids any.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { stageSetsPath, type StageSet } from "../../capabilities/api";
import { Discovery, Informer, objectKey, type KubeClient } from "../../capabilities/kube";
import { readDetail } from "./detail";
import { Hub } from "./hub";
import { viewOf } from "./model";

export interface UiOptions {
  client: KubeClient;
  /** One namespace, or undefined for all. */
  namespace?: string;
  /** 0: any free port. */
  port: number;
  gateUrl: string;
}

export interface Ui {
  /** The address to open, token included. */
  url: string;
  close(): Promise<void>;
}

const assetDir = join(dirname(fileURLToPath(import.meta.url)), "assets");
const assets: Record<string, { type: string; body: Buffer }> = {
  "/": { type: "text/html; charset=utf-8", body: readFileSync(join(assetDir, "index.html")) },
  "/app.js": { type: "text/javascript; charset=utf-8", body: readFileSync(join(assetDir, "app.js")) },
  "/app.css": { type: "text/css; charset=utf-8", body: readFileSync(join(assetDir, "app.css")) },
};

const security = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

export async function startUi(opts: UiOptions): Promise<Ui> {
  const token = randomBytes(24).toString("base64url");
  const hub = new Hub(opts.namespace ?? "all namespaces");
  const discovery = new Discovery(opts.client);
  const informer = new Informer<StageSet>(opts.client, stageSetsPath(opts.namespace), {
    upsert: ss => hub.upsert(viewOf(ss)),
    remove: ss => hub.remove(objectKey(ss)),
    synced: () => hub.setSource({ ...informer.state, synced: true }),
    state: (state, detail) => hub.setSource({ state, detail, synced: state === "Synced" }),
  });
  let port = 0;
  const cookie = () => `stageset-ui-${port}`;
  const server = createServer((req, res) => {
    void route(req, res).catch(err => reply(res, 500, `error: ${err instanceof Error ? err.message : String(err)}\n`));
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.headers.host !== `127.0.0.1:${port}` && req.headers.host !== `localhost:${port}`) return reply(res, 421, "this view answers only at its own address\n");
    if (req.method !== "GET") return reply(res, 405, "read-only\n", { allow: "GET" });
    const url = new URL(req.url ?? "/", `http://127.0.0.1:${port}`);
    const offered = url.searchParams.get("token");
    if (url.pathname === "/" && offered !== null) {
      if (!same(offered, token)) return reply(res, 401, "wrong token: open the address `stageset ui` printed\n");
      return reply(res, 303, "", { location: "/", "set-cookie": `${cookie()}=${token}; HttpOnly; SameSite=Strict; Path=/` });
    }
    if (!same(cookieOf(req, cookie()), token)) return reply(res, 401, "open the address `stageset ui` printed (it carries the token this view needs)\n");
    const asset = assets[url.pathname];
    if (asset) return reply(res, 200, asset.body, { "content-type": asset.type });
    if (url.pathname === "/events") return hub.attach(res);
    const m = /^\/api\/stagesets\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const ss = informer.get(`${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`);
      if (!ss) return reply(res, 404, "no such StageSet (in what this view watches)\n");
      const detail = await readDetail(opts.client, discovery, ss, opts.gateUrl);
      return reply(res, 200, JSON.stringify(detail), { "content-type": "application/json" });
    }
    return reply(res, 404, "not found\n");
  }

  port = await listen(server, opts.port);
  informer.start();
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    close: async () => {
      informer.stop();
      hub.close();
      server.closeAllConnections();
      await new Promise(ok => server.close(ok));
    },
  };
}

/** Loopback only. */
async function listen(server: Server, wanted: number): Promise<number> {
  await new Promise<void>((ok, fail) => {
    server.once("error", err => fail((err as NodeJS.ErrnoException).code === "EADDRINUSE" ? new Error(`port ${wanted} on 127.0.0.1 is in use: choose another with --port`) : err));
    server.listen(wanted, "127.0.0.1", ok);
  });
  return (server.address() as AddressInfo).port;
}

function reply(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...security, ...headers });
  res.end(body);
}

function cookieOf(req: IncomingMessage, name: string): string {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return "";
}

/** Compares in constant time, so the token cannot be guessed a byte at a time. */
function same(offered: string, token: string): boolean {
  const a = Buffer.from(offered);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
