// Downloading an artifact's tar.gz: the thin effectful shell. Everything it returns is complete,
// or it throws ArtifactFetchFailed; a body cut short by a cap or a timeout is never returned.
// The URL is a tenant's to choose (any producer may publish an ExternalArtifact), so every hop
// goes through the destination guard: link-local, unspecified and cloud metadata addresses are
// refused (loopback and in-cluster addresses are not: a source serves from inside the cluster),
// the connection goes to exactly the address vetted, and each redirect is vetted again.
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { ArtifactError, Reason, StageSetError, type Artifact } from "../api";
import { abortable, bareHost, DestinationRefusedError, isRedirect, maxRedirects, pinnedLookup, shownUrl, vetAddress, type Destination, type Lookup } from "../net";
import { formatBytes, type ArtifactLimits } from "./limits";

/** Where downloads may go: the controller's host allowlist, and DNS (tests map names). */
export interface DownloadGuard {
  allowlist?: readonly string[];
  lookup?: Lookup;
}

/** Fetches `artifact.url` into memory, enforcing the destination guard, the download cap and the timeout. */
export async function downloadArtifact(
  artifact: Pick<Artifact, "url">,
  limits: Pick<ArtifactLimits, "maxDownloadBytes" | "downloadTimeoutMs">,
  signal?: AbortSignal,
  guard: DownloadGuard = {},
): Promise<Buffer> {
  const url = artifactUrl(artifact.url);
  const shown = shownUrl(url);
  const timeout = AbortSignal.timeout(limits.downloadTimeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    let hop = url;
    let from: URL | undefined;
    for (let followed = 0; ; followed++) {
      // abortable: the DNS lookup counts against the download's time too.
      const destination = await abortable(vetAddress(hop, { allowlist: guard.allowlist ?? [], lookup: guard.lookup, permit: ["loopback"], redirectedFrom: from && shownUrl(from) }), combined);
      const res = await get(hop, destination, combined);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (isRedirect(status) && location) {
        res.destroy();
        if (followed === maxRedirects) throw fetchFailed(`downloading artifact from ${shown}: more than ${maxRedirects} redirects`);
        from = hop;
        hop = redirectTarget(location, hop, shown);
        continue;
      }
      if (status !== 200) {
        res.destroy();
        throw fetchFailed(`downloading artifact from ${shown}: HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ""}`);
      }
      return await readCapped(res, shown, limits.maxDownloadBytes, combined);
    }
  } catch (err) {
    if (err instanceof StageSetError) throw err;
    if (err instanceof DestinationRefusedError) throw fetchFailed(`downloading artifact from ${shown}: ${err.message}`, err);
    if (timeout.aborted) throw fetchFailed(`downloading artifact from ${shown}: timed out after ${limits.downloadTimeoutMs} ms`, err);
    if (signal?.aborted) throw fetchFailed(`downloading artifact from ${shown}: aborted`, err);
    throw fetchFailed(`downloading artifact from ${shown}: ${describeCause(err).replaceAll(url.href, shown)}`, err);
  }
}

function redirectTarget(location: string, from: URL, shown: string): URL {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw fetchFailed(`downloading artifact from ${shown}: ${shownUrl(from)} redirected to an invalid URL`);
  }
  if (next.protocol !== "http:" && next.protocol !== "https:") throw fetchFailed(`downloading artifact from ${shown}: ${shownUrl(from)} redirected to scheme ${next.protocol.replace(/:$/, "")} (only http and https are followed)`);
  if (next.username || next.password) throw fetchFailed(`downloading artifact from ${shown}: ${shownUrl(from)} redirected to a URL with credentials`);
  return next;
}

function get(url: URL, destination: Destination, signal: AbortSignal): Promise<IncomingMessage> {
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: bareHost(url), // also the TLS server name and the Host header
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: "GET",
        // identity: the digest covers the bytes as stored, so no transfer encoding may alter them.
        headers: { "accept-encoding": "identity", "user-agent": "stageset-controller" },
        lookup: pinnedLookup(destination),
        agent: false, // a pooled socket could have been opened to an address vetted for another URL
        signal,
      },
      resolve,
    );
    req.on("error", reject);
    req.end();
  });
}


function artifactUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (err) {
    throw fetchFailed(`artifact url is not a valid URL`, err);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw fetchFailed(`artifact url ${shownUrl(url)}: scheme ${url.protocol.replace(/:$/, "")} is not supported (only http and https)`);
  }
  // fetch refuses these anyway, with an error that quotes the whole URL, password included.
  if (url.username || url.password) {
    throw fetchFailed(`artifact url ${shownUrl(url)}: credentials in the URL are not supported`);
  }
  return url;
}

// Reads the body chunk by chunk so that an oversized or endless body costs at most the cap
// (plus one chunk), not whatever the server chooses to send.
function readCapped(res: IncomingMessage, shown: string, cap: number, signal: AbortSignal): Promise<Buffer> {
  const overCap = (what: string) => fetchFailed(`downloading artifact from ${shown}: ${what} exceeds the download cap of ${formatBytes(cap)}`);
  const declared = Number(res.headers["content-length"] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > cap) {
    res.destroy();
    return Promise.reject(overCap(`content-length ${declared}`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onAbort = () => res.destroy(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    let settled = false;
    const settle = (err?: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks, total));
    };
    res.on("data", (chunk: Buffer) => {
      total += chunk.length;
      if (total > cap) {
        settle(overCap("body"));
        return void res.destroy();
      }
      chunks.push(chunk);
    });
    res.on("end", () => settle());
    res.on("error", err => settle(err));
    res.on("aborted", () => settle(new Error("the connection closed before the whole body arrived")));
  });
}

// A network failure's useful part (ECONNREFUSED, a TLS failure, a DNS miss) may be in `cause`.
function describeCause(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 4; depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    parts.push(code && !e.message.includes(code) ? `${e.message} (${code})` : e.message);
    e = e.cause;
  }
  return parts.length > 0 ? parts.join(": ") : String(err);
}

function fetchFailed(message: string, cause?: unknown): ArtifactError {
  return new ArtifactError(Reason.ArtifactFetchFailed, message, cause === undefined ? undefined : { cause });
}
