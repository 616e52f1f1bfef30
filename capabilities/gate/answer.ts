// The gate's answer to one request, decided from the method, the path, the Accept header and
// the readiness view. Pure, so every rule is a row in a table test. It tells a caller whether
// a stage is Ready and, in JSON mode, its phase, the revision last attempted and the one
// applied; never a status message.
import type { ReadinessView } from "./view";

export interface GateRequest {
  method: string;
  /** The request target as sent: path plus optional query. */
  url: string;
  accept?: string;
}

export interface GateAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export const gateMethods = ["GET", "HEAD", "POST"] as const;

// /gate/{namespace}/{stageset}/{stage}: a DNS label, a DNS subdomain, a DNS label.
const label = "[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?";
const subdomain = "[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?";
const gatePath = new RegExp(`^/gate/(${label})/(${subdomain})/(${label})$`);

const plain = { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" };
const json = { ...plain, "content-type": "application/json" };
const text = (status: number, body: string, extra: Record<string, string> = {}): GateAnswer => ({ status, headers: { ...plain, ...extra }, body });

const notFound = text(404, "not found\n");
const badPath = text(400, "bad request: expected /gate/{namespace}/{stageset}/{stage}\n");
const notAllowed = text(405, "method not allowed\n", { allow: gateMethods.join(", ") });
const open = text(200, "ready\n");
const closed = text(403, "not ready\n");

export function answer(req: GateRequest, view: ReadinessView): GateAnswer {
  const q = req.url.indexOf("?");
  const path = q < 0 ? req.url : req.url.slice(0, q);
  if (path !== "/gate" && !path.startsWith("/gate/")) return notFound;
  if (!(gateMethods as readonly string[]).includes(req.method)) return notAllowed;
  const m = gatePath.exec(path);
  if (!m) return badPath;
  const [, namespace, stageset, stage] = m as unknown as [string, string, string, string];
  const r = view.get(namespace, stageset, stage);
  if (!wantsJSON(req.accept, q < 0 ? "" : req.url.slice(q + 1))) return r?.ready ? open : closed;
  const body = { ready: r?.ready ?? false, namespace, stageset, stage, phase: r?.phase ?? "Unknown", revision: r?.revision ?? "", appliedRevision: r?.appliedRevision ?? "" };
  return { status: 200, headers: json, body: JSON.stringify(body) + "\n" };
}

/** JSON mode: `Accept: application/json`, or `?format=json` for clients that cannot set headers. */
function wantsJSON(accept: string | undefined, query: string): boolean {
  return (accept !== undefined && accept.includes("application/json")) || query.split("&").includes("format=json");
}
