// Live updates for the browser: the StageSets the informer holds, as views, fanned out to every
// open page over server-sent events. A page gets the whole set once (snapshot), then only what
// changed, coalesced over a short window so a thousand StageSets changing at once are one
// message, not a thousand.
import type { ServerResponse } from "node:http";
import type { InformerState } from "../../capabilities/kube";
import type { StageSetView } from "./model";

export interface SourceState {
  state: InformerState;
  detail: string;
  /** The informer has listed: the set is complete (an empty set means none). */
  synced: boolean;
}

/** How long changes gather before they are sent: well inside the 1 s a change may take to show. */
export const coalesceMs = 100;
const heartbeatMs = 15_000;
/** Rows in a first screen (the page draws as many before the rest). */
const firstScreen = 60;
/** Views per later message of a snapshot. */
const restPart = 200;
/** A page this far behind (a stalled tab, a slow link) is dropped rather than buffered without end: its browser reconnects and gets a fresh snapshot. */
const maxBacklogBytes = 16 * 1024 * 1024;

export class Hub {
  private readonly views = new Map<string, StageSetView>();
  private readonly pending = new Map<string, StageSetView | null>();
  private readonly pages = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private readonly heartbeat = setInterval(() => this.send(": keep-alive\n\n"), heartbeatMs).unref();
  private source: SourceState = { state: "Starting", detail: "", synced: false };

  constructor(private readonly scope: string) {}

  upsert(view: StageSetView): void {
    const old = this.views.get(view.key);
    // A resync or a write that changes nothing shown is not sent.
    if (old && JSON.stringify(old) === JSON.stringify(view)) return;
    this.views.set(view.key, view);
    this.queue(view.key, view);
  }

  remove(key: string): void {
    if (!this.views.delete(key)) return;
    this.queue(key, null);
  }

  setSource(source: SourceState): void {
    // The informer reports a listing twice (its state, then synced) and again at each resync: pages hear of a change only.
    if (JSON.stringify(source) === JSON.stringify(this.source)) return;
    this.source = source;
    this.send(frame("source", source));
  }

  /**
   * A new page: headers, then the whole set as it is now, in two messages: the first screenful
   * (the page draws it as soon as it arrives), then the rest (which sorts after it), in parts.
   */
  attach(res: ServerResponse, headers: Record<string, string>): void {
    res.writeHead(200, { ...headers, "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no" });
    const items = [...this.views.values()].sort(byKey);
    res.write(frame("snapshot", { scope: this.scope, source: this.source, items: items.slice(0, firstScreen) }));
    // In parts, so the page can paint between them: a single 1 MB message keeps its main thread busy past the first frame.
    for (let i = firstScreen; i < items.length; i += restPart) res.write(frame("snapshot-rest", { items: items.slice(i, i + restPart) }));
    this.pages.add(res);
    res.on("close", () => this.pages.delete(res));
  }

  close(): void {
    clearInterval(this.heartbeat);
    clearTimeout(this.timer);
    // Said, so the page knows the view has stopped (a refused reconnect would leave it retrying for ever).
    for (const page of this.pages) page.end(frame("stopped", {}));
    this.pages.clear();
  }

  private queue(key: string, view: StageSetView | null): void {
    this.pending.set(key, view);
    this.timer ??= setTimeout(() => this.flush(), coalesceMs);
  }

  private flush(): void {
    this.timer = undefined;
    const upsert: StageSetView[] = [];
    const remove: string[] = [];
    for (const [key, view] of this.pending) {
      if (view) upsert.push(view);
      else remove.push(key);
    }
    this.pending.clear();
    this.send(frame("change", { upsert, remove }));
  }

  private send(text: string): void {
    for (const page of this.pages) {
      page.write(text);
      if (page.writableLength > maxBacklogBytes) {
        this.pages.delete(page);
        page.destroy();
      }
    }
  }
}

const byKey = (a: StageSetView, b: StageSetView) => a.key.localeCompare(b.key);

/** One server-sent event; JSON has no raw newlines, so the data is one line. */
const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
