// `stageset events <name>`: the StageSet's Events, oldest first (transitions: runs started,
// stages Ready, degradations, failures, holds, notifications that failed).
import type { KubeClient } from "../capabilities/kube";
import { age, paint, table, toneOf, type Style } from "./output";

export interface EventRow {
  time: string;
  type: string;
  reason: string;
  message: string;
}

export async function readEvents(client: KubeClient, namespace: string, name: string): Promise<EventRow[]> {
  const selector = `involvedObject.kind=StageSet,involvedObject.name=${name}`;
  type Event = { lastTimestamp?: string; eventTime?: string; firstTimestamp?: string; type?: string; reason?: string; message?: string };
  const items = (await client.get<{ items: Event[] }>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, { query: { fieldSelector: selector } })).body.items;
  return items
    .map(e => ({ time: e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? "", type: e.type ?? "", reason: e.reason ?? "", message: e.message ?? "" }))
    .sort((a, b) => a.time.localeCompare(b.time));
}

export function renderEvents(rows: EventRow[], now: number, style: Style): string {
  if (rows.length === 0) return "No Events found (Events expire after an hour by default).";
  return table(["AGE", "TYPE", "REASON", "MESSAGE"], rows.map(r => [age(r.time, now), toneOf(r.type) ? paint(style, toneOf(r.type)!, r.type) : r.type, r.reason, r.message]), style);
}
