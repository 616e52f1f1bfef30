// `stageset ui`: a read-only web view on 127.0.0.1, read with the user's kubeconfig. One
// list-then-watch of StageSets feeds every open page over server-sent events; a StageSet's own
// page reads its objects, the gate and its Events when asked.
//
// It serves the user's cluster data with the user's credentials, so only the user may read it:
// it listens on loopback only, answers only requests whose Host is its own address (a DNS
// rebinding page cannot read it), and only under a path that starts with the random token it
// printed (a capability URL: no cookie, which another program on another loopback port could
// be sent, and no link from another site can guess it). Pages load no external asset, and the
// Content-Security-Policy forbids any.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { stageSetsPath, type StageSet } from "../../capabilities/api";
import { Discovery, Informer, objectKey, type InformerState, type KubeClient } from "../../capabilities/kube";
import { readDetail, type StageSetDetail } from "./detail";
import { GateWatch } from "./gate-watch";
import { Hub, type SourceState } from "./hub";
import { viewOf, withGate, type StageSetView } from "./model";

export interface UiOptions {
  client: KubeClient;
  /** One namespace, or undefined for all. */
  namespace?: string;
  /** 0: any free port. */
  port: number;
  gateUrl: string;
  /** Told when reading StageSets starts failing or recovers (the terminal says so too). */
  onSource?: (source: SourceState) => void;
}

export interface Ui {
  /** The address to open, token included. */
  url: string;
  close(): Promise<void>;
}

const assetDir = join(dirname(fileURLToPath(import.meta.url)), "assets");
const assets: Record<string, { type: string; body: Buffer }> = {
  "": { type: "text/html; charset=utf-8", body: readFileSync(join(assetDir, "index.html")) },
  "app.js": { type: "text/javascript; charset=utf-8", body: readFileSync(join(assetDir, "app.js")) },
  "app.css": { type: "text/css; charset=utf-8", body: readFileSync(join(assetDir, "app.css")) },
};

const security = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

export async function startUi(opts: UiOptions): Promise<Ui> {
  const token = randomBytes(24).toString("base64url");
  const releases = new Releases(opts);
  let port = 0;
  const server = createServer((req, res) => {
    void route(req, res, { token, port, releases }).catch(err => reply(res, 500, `error: ${err instanceof Error ? err.message : String(err)}\n`));
  });
  port = await listen(server, opts.port);
  releases.start();
  return {
    url: `http://127.0.0.1:${port}/${token}/`,
    close: async () => {
      releases.stop();
      server.closeAllConnections();
      await new Promise(ok => server.close(ok));
    },
  };
}

/** What the pages show: one watch of StageSets, as views pushed to every page, and a StageSet's detail read when a page asks. */
class Releases {
  readonly hub: Hub;
  private readonly informer: Informer<StageSet>;
  private readonly discovery: Discovery;
  private readonly gates: GateWatch;
  private readonly stopping = new AbortController();
  // Several pages (or one page's timer and a change) asking for one StageSet share one reading.
  private readonly reading = new Map<string, Promise<StageSetDetail>>();

  constructor(private readonly opts: UiOptions) {
    this.hub = new Hub(opts.namespace ?? "all namespaces");
    this.discovery = new Discovery(opts.client);
    this.gates = new GateWatch({ gateUrl: opts.gateUrl, changed: key => this.show(this.informer.get(key)) });
    this.informer = new Informer<StageSet>(opts.client, stageSetsPath(opts.namespace), {
      upsert: ss => {
        // Once listed, an upsert is a change seen live: the gate is asked again shortly after, as its own watch catches up.
        this.gates.track(objectKey(ss), (ss.spec?.stages ?? []).map(s => s.name), ss.metadata?.resourceVersion ?? "", this.listed);
        this.show(ss);
      },
      remove: ss => {
        this.gates.untrack(objectKey(ss));
        this.hub.remove(objectKey(ss));
      },
      synced: () => this.setSource({ ...this.informer.state, synced: true }),
      state: (state, detail) => this.setSource({ state, detail, synced: state === "Synced" }),
    });
  }

  start(): void {
    this.informer.start();
  }

  stop(): void {
    this.stopping.abort();
    this.gates.stop();
    this.informer.stop();
    this.hub.close();
  }

  /** Listed at least once: a StageSet not held now does not exist (in what this view watches). */
  listed = false;
  source: SourceState = { state: "Starting", detail: "", synced: false };

  get(key: string): StageSet | undefined {
    return this.informer.get(key);
  }

  detail(ss: StageSet): Promise<StageSetDetail> {
    // Per version: a page that asks after a change gets the changed StageSet, not a reading begun before it.
    const key = `${ss.metadata?.uid}@${ss.metadata?.resourceVersion}`;
    let pending = this.reading.get(key);
    if (!pending) {
      pending = readDetail(this.opts.client, this.discovery, ss, this.opts.gateUrl, this.stopping.signal).finally(() => this.reading.delete(key));
      this.reading.set(key, pending);
    }
    return pending;
  }

  /** The StageSet as the overview shows it, with the gate's answers. */
  view(ss: StageSet): StageSetView {
    const key = objectKey(ss);
    return withGate(viewOf(ss), stage => this.gates.answer(key, stage));
  }

  private show(ss: StageSet | undefined): void {
    if (ss) this.hub.upsert(this.view(ss));
  }

  private setSource(source: SourceState): void {
    this.listed ||= source.synced;
    this.source = source;
    this.hub.setSource(source);
    this.opts.onSource?.(source);
  }
}

async function route(req: IncomingMessage, res: ServerResponse, ui: { token: string; port: number; releases: Releases }): Promise<void> {
  if (req.headers.host !== `127.0.0.1:${ui.port}`) return reply(res, 421, `this view answers only at its own address, 127.0.0.1:${ui.port}\n`);
  if (req.method !== "GET") return reply(res, 405, "read-only\n", { allow: "GET" });
  const path = new URL(req.url ?? "/", `http://127.0.0.1:${ui.port}`).pathname;
  const [, offered = "", ...rest] = path.split("/");
  if (!same(offered, ui.token)) return reply(res, 401, "open the address `stageset ui` printed (it carries the token this view needs)\n");
  // The page's own URLs are relative: they need the token's folder, with its slash.
  if (rest.length === 0) return reply(res, 308, "", { location: `/${ui.token}/` });
  const inside = rest.join("/");
  const asset = Object.hasOwn(assets, inside) ? assets[inside] : undefined;
  if (asset) return reply(res, 200, asset.body, { "content-type": asset.type });
  if (inside === "events") return ui.releases.hub.attach(res, security);
  const m = /^api\/stagesets\/([^/]+)\/([^/]+)$/.exec(inside);
  if (!m) return reply(res, 404, "not found\n");
  const [namespace, name] = [decoded(m[1]!), decoded(m[2]!)];
  if (namespace === undefined || name === undefined) return reply(res, 400, "a malformed %-escape in the StageSet's namespace or name\n");
  const ss = ui.releases.get(`${namespace}/${name}`);
  if (!ss && !ui.releases.listed) {
    const { state, detail } = ui.releases.source;
    if (unreadable(state)) return reply(res, 502, `cannot read StageSets (${state}): ${detail}\n`);
    return reply(res, 503, "still listing StageSets: a moment\n", { "retry-after": "1" });
  }
  if (!ss) return reply(res, 404, "no such StageSet (in what this view watches)\n");
  return reply(res, 200, JSON.stringify(await ui.releases.detail(ss)), { "content-type": "application/json" });
}

/** A path segment decoded; a malformed escape is the caller's mistake (400), not ours. */
function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** The watch of StageSets cannot be read: the page and the terminal say so. */
export const unreadable = (state: InformerState) => state === "Forbidden" || state === "Failing" || state === "NotServed";

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

/** Compares in constant time, so the token cannot be guessed a byte at a time. */
function same(offered: string, token: string): boolean {
  const a = Buffer.from(offered);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
