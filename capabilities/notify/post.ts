// One delivery attempt: vet the destination with the SSRF guard of capabilities/net, POST to
// the address it approved under a timeout, and say what the answer means for a retry.
// node:http rather than fetch, as in actions/http.ts: only a request's own `lookup` pins the
// vetted address (no second DNS answer), and node:http never follows a redirect.
import { request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { abortable, bareHost, DestinationRefusedError, isRedirect, pinnedLookup, vetAddress, type Destination, type Lookup } from "../net";
import { retryAfterMs } from "./backoff";
import type { Payload } from "./payload";

export type Attempt =
  | { kind: "delivered"; status: number }
  /** A network error, a timeout, a 5xx, 408 or 429: another attempt may succeed. */
  | { kind: "retry"; detail: string; retryAfterMs?: number }
  /** The SSRF guard refused the destination, or the URL is not one: nothing was sent. */
  | { kind: "refused"; detail: string }
  /** An answer that the same request gets again: another 4xx, or a redirect. */
  | { kind: "rejected"; detail: string };

export interface PostOptions {
  allowlist: readonly string[];
  lookup?: Lookup;
  timeoutMs: number;
  /** Aborts the attempt (the Notifier is stopping). */
  signal: AbortSignal;
}

/** Enough of a response body to let the receiver finish writing; the rest is not read. */
const discardCapBytes = 4 * 1024;
const userAgent = "stageset-controller";

/** Sends `payload` once. Never throws; details never hold the URL's path, query or user info. */
export async function postOnce(url: string, payload: Payload, opts: PostOptions): Promise<Attempt> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return { kind: "refused", detail: "the url is not a valid URL" };
  }
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const signal = AbortSignal.any([opts.signal, deadline]);
  try {
    const destination = await abortable(vetAddress(target, { allowlist: opts.allowlist, lookup: opts.lookup }), signal);
    const res = await send(target, destination, payload, signal);
    discard(res);
    return answer(res);
  } catch (err) {
    if (err instanceof DestinationRefusedError) return { kind: "refused", detail: err.message };
    if (deadline.aborted) return { kind: "retry", detail: `no answer within ${opts.timeoutMs} ms` };
    if (opts.signal.aborted) return { kind: "retry", detail: "aborted" };
    return { kind: "retry", detail: scrub(networkDetail(err), target) };
  }
}

// 408 and 429 are the receiver asking us to come back later; any other 4xx says the request
// itself is wrong, so it fails again (the same split as ActionStatusError.retryable).
function answer(res: IncomingMessage): Attempt {
  const status = res.statusCode ?? 0;
  if (status >= 200 && status <= 299) return { kind: "delivered", status };
  if (status >= 500 || status === 408 || status === 429) {
    return { kind: "retry", detail: `answered ${status}`, retryAfterMs: retryAfterMs(res.headers["retry-after"]) };
  }
  if (isRedirect(status)) return { kind: "rejected", detail: `answered ${status}; redirects are not followed` };
  return { kind: "rejected", detail: `answered ${status}` };
}

function send(url: URL, destination: Destination, payload: Payload, signal: AbortSignal): Promise<IncomingMessage> {
  const body = Buffer.from(payload.body);
  const options: RequestOptions = {
    host: bareHost(url), // also the TLS server name and the Host header
    port: url.port || undefined,
    path: `${url.pathname}${url.search}`,
    method: "POST",
    headers: { ...payload.headers, "content-length": String(body.length), "user-agent": userAgent },
    auth: userInfo(url),
    lookup: pinnedLookup(destination),
    agent: false, // a pooled socket could have been opened to an address vetted earlier
    signal,
  };
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(options, resolve);
    req.on("error", reject);
    req.end(body);
  });
}

/** Basic credentials written into the URL (https://user:pass@host/…), as a browser sends them. */
function userInfo(url: URL): string | undefined {
  if (url.username === "" && url.password === "") return undefined;
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return `${decode(url.username)}:${decode(url.password)}`;
}

/** Reads at most a few KiB of the body, then closes the response; nothing waits for it. */
function discard(res: IncomingMessage): void {
  let read = 0;
  res.on("data", (chunk: Buffer) => {
    read += chunk.length;
    if (read >= discardCapBytes) res.destroy();
  });
  res.on("error", () => undefined);
}

function networkDetail(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const detail = err instanceof Error ? err.message : String(err);
  return code && !detail.includes(code) ? `${detail} (${code})` : detail;
}

/**
 * Removes the URL's path, query and user info from an error's text. Node's messages name only
 * the host and address today; this keeps a token out of an Event if one ever does.
 */
function scrub(text: string, url: URL): string {
  const secrets = [url.href, `${url.pathname}${url.search}`, url.search, url.pathname, url.username, url.password];
  return secrets.filter(s => s.length >= 3).reduce((acc, s) => acc.split(s).join("…"), text);
}
