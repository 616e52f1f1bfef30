// Redirects, followed by hand so that every hop goes through the SSRF guard again. Pure:
// one request and one response in, the next request (or none) out.
import { ActionError, ActionReason, ActionRefusedError } from "./errors";
import { isRedirect, shownUrl } from "../net";
import type { HttpMethod } from "./spec";

export { maxRedirects, shownUrl } from "../net";

/** One request of an http action. */
export interface Hop {
  url: URL;
  method: HttpMethod;
  /** Lower-case names. */
  headers: Record<string, string>;
  body?: string;
  /** Names of headers whose value came from a Secret. */
  secretHeaders: readonly string[];
  /** Whether `body` came from a Secret. */
  secretBody: boolean;
}

// Headers that carry credentials: like browsers, they are not sent to another origin.
const credentialHeaders = ["authorization", "cookie", "proxy-authorization"];


/**
 * The request to send next when `status` is a redirect, or undefined when it is the answer:
 * not a redirect, no Location, or a status the action expects (so expecting 302 stops there).
 */
export function nextHop(hop: Hop, status: number, location: string | undefined, expected: readonly number[] | undefined, prefix = ""): Hop | undefined {
  if (!isRedirect(status) || !location || expected?.includes(status)) return undefined;
  let url: URL;
  try {
    url = new URL(location, hop.url);
  } catch {
    throw new ActionError(ActionReason.ActionFailed, `${prefix}${shownUrl(hop.url)} redirected to an invalid URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ActionRefusedError(`${prefix}${shownUrl(hop.url)} redirected to scheme ${url.protocol.replace(/:$/, "")} (only http and https are followed)`);
  }
  const next = { ...rewriteMethod(hop, status), url };
  return url.origin === hop.url.origin ? next : leaveOrigin(next, hop.url, prefix);
}

// 303 means "GET the answer over there"; browsers and the fetch standard also turn a POST
// into a GET on 301 and 302. 307 and 308 repeat the request as it was.
function rewriteMethod(hop: Hop, status: number): Hop {
  const toGet = status === 303 ? hop.method !== "GET" && hop.method !== "HEAD" : (status === 301 || status === 302) && hop.method === "POST";
  if (!toGet) return hop;
  const { "content-type": _dropped, ...headers } = hop.headers;
  return { ...hop, method: "GET", headers, body: undefined, secretBody: false };
}

// Values from Secrets were meant for the origin the spec names: refuse to send them to
// another, rather than silently send or silently drop them.
function leaveOrigin(next: Hop, from: URL, prefix: string): Hop {
  const secrets = [...next.secretHeaders.map(h => `header ${h}`), ...(next.secretBody ? ["the body"] : [])];
  if (secrets.length > 0) {
    throw new ActionRefusedError(`${prefix}${shownUrl(from)} redirected to another origin (${next.url.origin}); not following with values from Secrets (${secrets.join(", ")})`);
  }
  const headers = Object.fromEntries(Object.entries(next.headers).filter(([name]) => !credentialHeaders.includes(name)));
  return { ...next, headers };
}
