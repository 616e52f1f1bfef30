// Downloading an artifact's tar.gz: the thin effectful shell. Everything it returns is complete,
// or it throws ArtifactFetchFailed; a body cut short by a cap or a timeout is never returned.
import { ArtifactError, Reason, StageSetError, type Artifact } from "../api";
import { formatBytes, type ArtifactLimits } from "./limits";

/** Fetches `artifact.url` into memory, enforcing the download cap and the timeout. */
export async function downloadArtifact(
  artifact: Pick<Artifact, "url">,
  limits: Pick<ArtifactLimits, "maxDownloadBytes" | "downloadTimeoutMs">,
  signal?: AbortSignal,
): Promise<Buffer> {
  const url = artifactUrl(artifact.url);
  const shown = redactUrl(url);
  const timeout = AbortSignal.timeout(limits.downloadTimeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    // identity: the digest covers the bytes as stored, so no transfer encoding may alter them.
    const res = await fetch(url, { signal: combined, redirect: "follow", headers: { "accept-encoding": "identity" } });
    if (res.status !== 200) {
      await discard(res);
      throw fetchFailed(`downloading artifact from ${shown}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`);
    }
    return await readCapped(res, shown, limits.maxDownloadBytes);
  } catch (err) {
    if (err instanceof StageSetError) throw err;
    if (timeout.aborted) throw fetchFailed(`downloading artifact from ${shown}: timed out after ${limits.downloadTimeoutMs} ms`, err);
    if (signal?.aborted) throw fetchFailed(`downloading artifact from ${shown}: aborted`, err);
    throw fetchFailed(`downloading artifact from ${shown}: ${describeCause(err).replaceAll(url.href, shown)}`, err);
  }
}

/** The URL without credentials, query or fragment: safe to put in status and logs. */
export function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function artifactUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (err) {
    throw fetchFailed(`artifact url is not a valid URL`, err);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw fetchFailed(`artifact url ${redactUrl(url)}: scheme ${url.protocol.replace(/:$/, "")} is not supported (only http and https)`);
  }
  // fetch refuses these anyway, with an error that quotes the whole URL, password included.
  if (url.username || url.password) {
    throw fetchFailed(`artifact url ${redactUrl(url)}: credentials in the URL are not supported`);
  }
  return url;
}

// Reads the body chunk by chunk so that an oversized or endless body costs at most the cap
// (plus one chunk), not whatever the server chooses to send.
async function readCapped(res: Response, shown: string, cap: number): Promise<Buffer> {
  const overCap = (what: string) =>
    fetchFailed(`downloading artifact from ${shown}: ${what} exceeds the download cap of ${formatBytes(cap)}`);
  const declared = Number(res.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > cap) {
    await discard(res);
    throw overCap(`content-length ${declared}`);
  }
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > cap) {
      await reader.cancel();
      throw overCap("body");
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

// Releases the connection; a failure to do so must not hide the error we are about to report.
async function discard(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => undefined);
}

// Node's fetch reports network failures as `TypeError: fetch failed`; the useful part
// (ECONNREFUSED, a TLS failure, a DNS miss) is in `cause`.
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
