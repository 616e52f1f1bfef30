// A thin Kubernetes HTTP client: kubeconfig (or in-cluster) auth from client-node, one
// keep-alive agent, and our own field manager for server-side apply. kubernetes-fluent-client
// hard-codes fieldManager=pepr and opens a new connection per request, which is both the
// wrong owner and too slow to apply a thousand objects.
import { KubeConfig } from "@kubernetes/client-node";
import { Agent, request, type RequestOptions } from "node:https";
import { Agent as HttpAgent, request as httpRequest } from "node:http";

export const fieldManager = "stageset-controller";
// The API server names the manager of non-apply writes after the user agent (the CLI's own: stageset-cli).
const controllerAgent = "stageset-controller";

export interface KubeResponse<T = unknown> {
  status: number;
  body: T;
}

/** A failed API call: the HTTP status and the API server's Status message. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(message);
    this.name = "KubeApiError";
  }
}

export interface RequestInit {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Accept header, e.g. to ask for metadata only. */
  accept?: string;
  /** Statuses returned instead of thrown (e.g. 404 on a read that tolerates absence). */
  allow?: number[];
  timeoutMs?: number;
}

// Credentials are re-read at most this often: in-cluster tokens rotate well before expiry.
const authTtlMs = 60_000;

/** Lists of PartialObjectMetadata: names, labels, annotations, uids, without the bodies. */
export const metadataOnly = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

/** One connection pool, made again when the credentials it was made with change. */
interface Pool {
  agent?: Agent | HttpAgent;
  key: string;
}

/**
 * Connections and credentials, shared by a client and every identity it acts as. Watches hold
 * a connection each for minutes: they get a pool of their own, so applies never queue behind them.
 */
interface Transport {
  /** Who the API server's managedFields and audit log say made non-apply writes. */
  userAgent?: string;
  pools: Record<"requests" | "watches", Pool>;
  auth?: { opts: RequestOptions; at: number };
  closed: boolean;
}

const poolOptions = { requests: { keepAlive: true, maxSockets: 32 }, watches: { keepAlive: false } } as const;

export class KubeClient {
  private readonly transport: Transport;

  constructor(
    private readonly config: KubeConfig,
    /** Requests are made as this user (Kubernetes impersonation) instead of the controller. */
    readonly actingAs?: string,
    transport?: Transport,
  ) {
    this.transport = transport ?? { pools: { requests: { key: "" }, watches: { key: "" } }, closed: false };
  }

  /** KUBECONFIG, then ~/.kube/config, then the in-cluster ServiceAccount. */
  static fromDefault(): KubeClient {
    const config = new KubeConfig();
    config.loadFromDefault();
    return new KubeClient(config);
  }

  /** A user's client (the CLI): KUBECONFIG or ~/.kube/config, on the named context if given, and that context's namespace. */
  static forUser(context?: string): { client: KubeClient; namespace: string } {
    const config = new KubeConfig();
    config.loadFromDefault();
    if (context) {
      if (!config.getContextObject(context)) throw new Error(`no context ${JSON.stringify(context)} in the kubeconfig`);
      config.setCurrentContext(context);
    }
    const client = new KubeClient(config, undefined, { pools: { requests: { key: "" }, watches: { key: "" } }, closed: false, userAgent: "stageset-cli" });
    return { client, namespace: config.getContextObject(config.getCurrentContext())?.namespace || "default" };
  }

  /**
   * The same connections, every request made as this ServiceAccount: the API server then
   * enforces its RBAC and the audit log names it. Impersonating a ServiceAccount's user name
   * adds its groups (system:serviceaccounts and system:serviceaccounts:<namespace>), so the
   * controller needs `impersonate` on `serviceaccounts` only.
   */
  asServiceAccount(namespace: string, name: string): KubeClient {
    return new KubeClient(this.config, `system:serviceaccount:${namespace}:${name}`, this.transport);
  }

  get server(): string {
    return this.config.getCurrentCluster()?.server ?? "";
  }

  async request<T = unknown>(method: string, path: string, init: RequestInit = {}): Promise<KubeResponse<T>> {
    const { url, opts } = await this.prepare(method, path, init.query, init.accept, "requests");
    const payload = init.body === undefined ? undefined : Buffer.from(JSON.stringify(init.body));
    if (payload) Object.assign(opts.headers!, { "content-type": init.contentType ?? "application/json", "content-length": payload.length });
    const res = await send(url, opts, payload, init.timeoutMs ?? 30_000);
    const body = parseBody(res.text);
    if (res.status < 400 || init.allow?.includes(res.status)) return { status: res.status, body: body as T };
    const status = body as { reason?: string; message?: string } | undefined;
    throw new KubeApiError(res.status, status?.reason ?? "Unknown", status?.message ?? res.text.slice(0, 500), method, url.pathname);
  }

  get<T>(path: string, init?: RequestInit) {
    return this.request<T>("GET", path, init);
  }

  /** Server-side apply as `stageset-controller`, taking ownership of conflicting fields. */
  apply<T>(path: string, obj: unknown, opts: { dryRun?: boolean } = {}) {
    return this.request<T>("PATCH", path, {
      body: obj,
      contentType: "application/apply-patch+yaml",
      query: { fieldManager, force: true, dryRun: opts.dryRun ? "All" : undefined },
    });
  }

  mergePatch<T>(path: string, patch: unknown) {
    return this.request<T>("PATCH", path, { body: patch, contentType: "application/merge-patch+json" });
  }

  jsonPatch<T>(path: string, ops: unknown[]) {
    return this.request<T>("PATCH", path, { body: ops, contentType: "application/json-patch+json" });
  }

  /**
   * A watch stream: calls onEvent for each event line until the server ends the stream, the
   * signal aborts it, or the connection breaks (rejects). Resolves with the HTTP status; a
   * status >= 400 resolves with the API server's Status body in `error` and no events.
   * onOpen is called once the server has accepted the watch.
   */
  async watch(path: string, query: RequestInit["query"], onEvent: (event: WatchEvent) => void, signal: AbortSignal, onOpen?: () => void): Promise<{ status: number; error?: string }> {
    const { url, opts } = await this.prepare("WATCH", path, { ...query, watch: true }, undefined, "watches");
    opts.method = "GET";
    opts.signal = signal;
    // The server ends a watch after timeoutSeconds and sends bookmarks meanwhile: a connection
    // silent for longer than that plus a margin is half-open, and is dropped.
    const idleMs = (Number(query?.timeoutSeconds ?? 300) + 60) * 1000;
    return new Promise((resolve, reject) => {
      const req = (url.protocol === "http:" ? httpRequest : request)(url, opts, res => {
        const status = res.statusCode ?? 0;
        if (status < 400) onOpen?.();
        let buffered = "";
        const fail = (err: Error) => {
          req.destroy(err);
          reject(err);
        };
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffered += chunk;
          if (buffered.length > maxWatchLine) return fail(new Error(`WATCH ${url.pathname}: an event over ${maxWatchLine} bytes`));
          if (status >= 400) return;
          let nl: number;
          while ((nl = buffered.indexOf("\n")) >= 0) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (!line.trim()) continue;
            try {
              onEvent(JSON.parse(line) as WatchEvent);
            } catch (err) {
              return fail(new Error(`WATCH ${url.pathname}: ${err instanceof Error ? err.message : String(err)}`));
            }
          }
        });
        res.on("end", () => resolve(status >= 400 ? { status, error: (parseBody(buffered) as { message?: string } | undefined)?.message ?? buffered.slice(0, 500) } : { status }));
        res.on("error", reject);
        res.on("aborted", () => reject(new Error(`WATCH ${url.pathname}: connection aborted`)));
      });
      req.setTimeout(idleMs, () => req.destroy(new Error(`WATCH ${url.pathname}: no data for ${idleMs / 1000} s`)));
      req.on("error", reject);
      req.end();
    });
  }

  /** The URL and request options: credentials, our identity (or the impersonated one), and a pooled agent. */
  private async prepare(method: string, path: string, query: RequestInit["query"], accept: string | undefined, pool: keyof Transport["pools"]): Promise<{ url: URL; opts: RequestOptions }> {
    if (this.transport.closed) throw new Error(`${method} ${path}: the client is closed (the controller is stopping)`);
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const auth = await this.authOptions();
    const identity = this.actingAs ? { "impersonate-user": this.actingAs } : {};
    const opts: RequestOptions = { ...auth, method, headers: { ...auth.headers, ...identity, accept: accept ?? "application/json", "user-agent": this.transport.userAgent ?? controllerAgent } };
    opts.agent = this.agentFor(opts, url.protocol, pool);
    return { url, opts };
  }

  private async authOptions(): Promise<RequestOptions> {
    const t = this.transport;
    if (t.auth && Date.now() - t.auth.at < authTtlMs) return t.auth.opts;
    const opts: RequestOptions = {};
    await this.config.applyToHTTPSOptions(opts);
    delete opts.agent; // client-node makes a fresh agent each time; we keep one
    t.auth = { opts, at: Date.now() };
    return opts;
  }

  private agentFor(opts: RequestOptions, protocol: string, which: keyof Transport["pools"]): Agent | HttpAgent {
    const pool = this.transport.pools[which];
    const key = [protocol, opts.ca, opts.cert, opts.key, opts.rejectUnauthorized].map(String).join("|");
    if (pool.agent && key === pool.key) return pool.agent;
    pool.agent?.destroy();
    const common = poolOptions[which];
    pool.agent = protocol === "http:" ? new HttpAgent(common) : new Agent({ ...common, ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized, servername: opts.servername });
    pool.key = key;
    return pool.agent;
  }

  close(): void {
    this.transport.closed = true;
    for (const pool of Object.values(this.transport.pools)) {
      pool.agent?.destroy();
      pool.agent = undefined;
    }
  }
}

/** The largest watch event accepted (the API server's own request limit is 3 MiB of JSON). */
const maxWatchLine = 16 * 1024 * 1024;

/** One line of a watch stream. BOOKMARK carries only a resourceVersion; ERROR carries a Status. */
export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: { metadata?: { resourceVersion?: string }; code?: number; message?: string } & Record<string, unknown>;
}

function send(url: URL, opts: RequestOptions, payload: Buffer | undefined, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === "http:" ? httpRequest : request)(url, opts, res => {
      const chunks: Buffer[] = [];
      res.on("data", c => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${opts.method} ${url.pathname}: no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(payload);
  });
}

function parseBody(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The value of one key of a Secret, read as the client's identity; an error names a missing key. */
export async function secretValue(client: KubeClient, namespace: string, name: string, key: string): Promise<string> {
  const res = await client.get<{ data?: Record<string, string> }>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`);
  const value = res.body.data?.[key];
  if (value === undefined) throw new Error(`Secret ${name} has no key ${key}`);
  return Buffer.from(value, "base64").toString("utf8");
}
