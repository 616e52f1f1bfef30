// A list-then-watch of one resource, the small core of client-go's reflector: list, watch from
// the list's resourceVersion with bookmarks, watch again when the server ends the stream, list
// again on 410 Gone, and retry with backoff on errors. A resource the API server does not
// serve (a CRD not installed yet) is not an error that stops anything: the informer reports
// "NotServed" and keeps trying, so the controller converges by itself once it appears. A list
// or watch the API server refuses (401/403) is "Forbidden": the cache cannot be trusted until
// the rights come back, unlike a passing failure ("Failing"), after which it is still the
// last word the server gave.
import { KubeApiError, type KubeClient, type WatchEvent } from "./client";

export interface Meta {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; managedFields?: unknown };
}

export type InformerState = "Starting" | "Synced" | "NotServed" | "Forbidden" | "Failing";

export interface InformerHandlers<T> {
  upsert(obj: T): void;
  remove(obj: T): void;
  /** The cache holds the complete set (after each list): absent now means absent. */
  synced?(): void;
  state?(state: InformerState, detail: string): void;
}

export interface InformerOptions<T> {
  labelSelector?: string;
  /** metadata.name=<name>: one object, which RBAC can grant by resourceNames. */
  fieldSelector?: string;
  /** What of each object to keep (default: all but managedFields). */
  keep?: (obj: T) => T;
  /** Backoff between failed attempts: doubles from this, up to 30 s. */
  retryMs?: number;
}

export const objectKey = (o: Meta) => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;

export class Informer<T extends Meta> {
  private readonly cache = new Map<string, T>();
  private readonly abort = new AbortController();
  private current: InformerState = "Starting";
  private detail = "";
  /** The last watch was refused (401/403): a list alone is a snapshot that no watch keeps current, so not "Synced". */
  private watchRefused = false;

  constructor(
    private readonly client: KubeClient,
    /** The collection path, e.g. /apis/apps/v1/deployments (all namespaces). */
    private readonly path: string,
    private readonly handlers: InformerHandlers<T>,
    private readonly opts: InformerOptions<T> = {},
  ) {}

  get state(): { state: InformerState; detail: string } {
    return { state: this.current, detail: this.detail };
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  values(): IterableIterator<T> {
    return this.cache.values();
  }

  start(): this {
    void this.run();
    return this;
  }

  stop(): void {
    this.abort.abort();
  }

  private async run(): Promise<void> {
    const base = this.opts.retryMs ?? 1_000;
    let delay = base;
    while (!this.abort.signal.aborted) {
      try {
        const listed = await this.list();
        if (listed === undefined) {
          this.setState("NotServed", `the API server does not serve ${this.path}`);
        } else {
          // A list that works while the watch is refused is no recovery: keep backing off.
          if (!this.watchRefused) delay = base;
          await this.watchFrom(listed);
          continue; // 410 Gone or a broken stream: list again at once
        }
      } catch (err) {
        if (this.abort.signal.aborted) return;
        const refused = err instanceof KubeApiError && (err.status === 401 || err.status === 403);
        this.setState(refused ? "Forbidden" : "Failing", err instanceof Error ? err.message : String(err));
      }
      await sleep(delay, this.abort.signal);
      delay = Math.min(delay * 2, 30_000);
    }
  }

  /** The full list, replacing the cache; undefined when the resource is not served. */
  private async list(): Promise<string | undefined> {
    const seen = new Set<string>();
    let resourceVersion = "";
    let next: string | undefined;
    do {
      // Pages of 500, so a large cluster is never one huge response held in memory at once.
      const res = await this.client.get<{ apiVersion?: string; kind?: string; metadata?: { resourceVersion?: string; continue?: string }; items?: T[] }>(this.path, { query: { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector, limit: 500, continue: next }, allow: [404] });
      if (res.status === 404) return undefined;
      const typeOfItems = listItemType(res.body);
      for (const listed of res.body.items ?? []) {
        // A list's items carry no apiVersion and kind; health rules and CEL checks go by them.
        const item = { ...typeOfItems, ...listed };
        const key = objectKey(item);
        seen.add(key);
        this.put(key, item);
      }
      resourceVersion = res.body.metadata?.resourceVersion ?? resourceVersion;
      next = res.body.metadata?.continue || undefined;
    } while (next);
    for (const [key, old] of this.cache) {
      if (seen.has(key)) continue;
      this.cache.delete(key);
      this.handlers.remove(old);
    }
    if (!this.watchRefused) this.setState("Synced", "");
    this.handlers.synced?.();
    return resourceVersion;
  }

  /** Watches until the server says the version is gone (410) or the stream breaks. */
  private async watchFrom(resourceVersion: string): Promise<void> {
    let rv = resourceVersion;
    let gone = false;
    while (!this.abort.signal.aborted && !gone) {
      // The API server ends a watch after timeoutSeconds; spread reconnects out a little.
      const timeoutSeconds = 240 + Math.floor(Math.random() * 120);
      const query = { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds };
      const res = await this.client.watch(this.path, query, event => {
        if (event.type === "ERROR") {
          if (event.object.code === 410) gone = true;
          return;
        }
        rv = event.object.metadata?.resourceVersion ?? rv;
        if (event.type === "BOOKMARK") return;
        this.apply(event);
      }, this.abort.signal, () => {
        if (!this.watchRefused) return;
        this.watchRefused = false;
        this.setState("Synced", "");
        this.handlers.synced?.();
      });
      if (res.status === 410) gone = true;
      else if (res.status === 401 || res.status === 403) this.watchRefused = true;
      if (res.status >= 400 && res.status !== 410) throw new KubeApiError(res.status, "", `watch ${this.path}: HTTP ${res.status}: ${res.error}`, "GET", this.path);
    }
  }

  private apply(event: WatchEvent): void {
    const obj = event.object as unknown as T;
    const key = objectKey(obj);
    if (event.type === "DELETED") {
      this.cache.delete(key);
      this.handlers.remove(obj);
    } else {
      this.put(key, obj);
    }
  }

  private put(key: string, obj: T): void {
    // managedFields are most of an object's size and nothing here reads them.
    if (obj.metadata?.managedFields) delete obj.metadata.managedFields;
    const kept = this.opts.keep ? this.opts.keep(obj) : obj;
    this.cache.set(key, kept);
    this.handlers.upsert(kept);
  }

  private setState(state: InformerState, detail: string): void {
    if (state === this.current && detail === this.detail) return;
    this.current = state;
    this.detail = detail;
    this.handlers.state?.(state, detail);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });
}

/** The apiVersion and kind of a list's items, from the list's own (`ConfigMapList` → `ConfigMap`). */
export function listItemType(list: { apiVersion?: string; kind?: string }): { apiVersion?: string; kind?: string } {
  return list.apiVersion && list.kind?.endsWith("List") ? { apiVersion: list.apiVersion, kind: list.kind.slice(0, -"List".length) } : {};
}
