// The http verb: one request (and its redirects) under the action's timeout. node:http rather
// than fetch, because only a request's own `lookup` lets us connect to exactly the address
// the SSRF guard approved, so that a second DNS answer (rebinding) is never used.
import { createHash } from "node:crypto";
import { request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { ActionConnectionError, ActionError, ActionReason, ActionStatusError, ActionTimeoutError } from "./errors";
import { maxRedirects, nextHop, shownUrl, type Hop } from "./redirect";
import type { HttpVerb, SecretKeyRef } from "./spec";
import { abortable } from "../net";
import { bareHost, pinnedLookup, vetDestination, type Destination, type Lookup } from "./ssrf";

/** Enough of an error page to explain a failure; the rest is not read. */
export const bodyCapBytes = 64 * 1024;

export interface HttpActionOptions {
  /** The action's name, for messages. */
  name: string;
  /** Hostnames, addresses or CIDRs that may be reached although the SSRF guard refuses them. */
  allowlist: readonly string[];
  /** Reads one key of a Secret in the StageSet's namespace. */
  secrets: (ref: SecretKeyRef) => Promise<string>;
  /** For the whole action: secrets, lookups, every hop. */
  timeoutMs: number;
  lookup?: Lookup;
  /** Cancels the action (the controller is stopping). */
  signal?: AbortSignal;
}

export interface HttpActionResult {
  status: number;
  durationMs: number;
}

interface Run {
  prefix: string;
  spec: HttpVerb;
  opts: HttpActionOptions;
  deadline: AbortSignal;
  signal: AbortSignal;
  hop?: Hop;
}

/**
 * Sends the request, following up to 5 redirects, and checks the final status against
 * expectedStatus (default 2xx). Throws ActionRefusedError, ActionStatusError,
 * ActionTimeoutError, ActionConnectionError, or ActionError (a Secret could not be read).
 */
export async function runHttpAction(spec: HttpVerb, opts: HttpActionOptions): Promise<HttpActionResult> {
  const started = performance.now();
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
  const run: Run = { prefix: `http action "${opts.name}": `, spec, opts, deadline, signal };
  try {
    run.hop = await firstHop(run);
    const status = await follow(run);
    return { status, durationMs: Math.round(performance.now() - started) };
  } catch (err) {
    throw failure(run, err);
  }
}

async function firstHop(run: Run): Promise<Hop> {
  const { spec } = run;
  let url: URL;
  try {
    url = new URL(spec.url);
  } catch {
    throw new ActionError(ActionReason.ActionFailed, `${run.prefix}url is not a valid URL`, true);
  }
  const headers: Record<string, string> = {};
  const secretHeaders: string[] = [];
  for (const h of spec.headers ?? []) {
    const name = h.name.toLowerCase();
    if (h.valueFrom) secretHeaders.push(name);
    headers[name] = h.valueFrom ? await readSecret(run, h.valueFrom.secretKeyRef) : (h.value ?? "");
  }
  const body = spec.bodyFrom ? await readSecret(run, spec.bodyFrom.secretKeyRef) : spec.body;
  return { url, method: spec.method, headers, body, secretHeaders, secretBody: spec.bodyFrom !== undefined };
}

async function readSecret(run: Run, ref: SecretKeyRef): Promise<string> {
  try {
    return await abortable(run.opts.secrets(ref), run.signal);
  } catch (err) {
    if (run.signal.aborted) throw err;
    const detail = err instanceof Error ? err.message : String(err);
    throw new ActionError(ActionReason.ActionFailed, `${run.prefix}reading key ${ref.key} of Secret ${ref.name}: ${detail}`, false, { cause: err });
  }
}

async function follow(run: Run): Promise<number> {
  let from: URL | undefined;
  for (let followed = 0; ; followed++) {
    const hop = run.hop!;
    // A refused redirect says so: the spec's URL was fine, the server sent us elsewhere.
    const vetOptions = { allowlist: run.opts.allowlist, lookup: run.opts.lookup, action: run.opts.name, redirectedFrom: from && shownUrl(from) };
    const destination = await abortable(vetDestination(hop.url, vetOptions), run.signal);
    from = hop.url;
    const res = await send(hop, destination, run.signal);
    const status = res.statusCode ?? 0;
    const next = nextHop(hop, status, res.headers.location, run.spec.expectedStatus, run.prefix);
    if (!next) return settle(run, hop, res);
    res.destroy();
    if (followed === maxRedirects) {
      throw new ActionError(ActionReason.ActionFailed, `${run.prefix}${describe(hop)}: more than ${maxRedirects} redirects`);
    }
    run.hop = next;
  }
}

async function settle(run: Run, hop: Hop, res: IncomingMessage): Promise<number> {
  const status = res.statusCode ?? 0;
  if (isExpected(status, run.spec.expectedStatus)) {
    res.destroy(); // the body is not needed, and may be endless
    return status;
  }
  const body = await readCapped(res, bodyCapBytes);
  const wanted = run.spec.expectedStatus?.join(", ") ?? "2xx";
  throw new ActionStatusError(`${run.prefix}${describe(hop)} answered ${status}, expected ${wanted}${bodySummary(body)}`, status, body.toString("utf8"));
}

export function isExpected(status: number, expected: readonly number[] | undefined): boolean {
  return expected ? expected.includes(status) : status >= 200 && status <= 299;
}

/**
 * What a message may say of a response body: its size and a short hash, never its content. A
 * body in status or an Event would turn an http action into a way for a tenant to read any
 * in-cluster endpoint from the controller's network position.
 */
export function bodySummary(body: Buffer): string {
  if (body.length === 0) return " (empty body)";
  const size = body.length >= bodyCapBytes ? `${bodyCapBytes} bytes or more` : `${body.length} ${body.length === 1 ? "byte" : "bytes"}`;
  return ` (body: ${size}, sha256 ${createHash("sha256").update(body).digest("hex").slice(0, 12)})`;
}

const describe = (hop: Hop) => `${hop.method} ${shownUrl(hop.url)}`;

function send(hop: Hop, destination: Destination, signal: AbortSignal): Promise<IncomingMessage> {
  const body = hop.body === undefined ? undefined : Buffer.from(hop.body);
  const options: RequestOptions = {
    host: bareHost(hop.url), // also the TLS server name and the Host header
    port: hop.url.port || undefined,
    path: `${hop.url.pathname}${hop.url.search}`,
    method: hop.method,
    headers: body ? { ...hop.headers, "content-length": String(body.length) } : hop.headers,
    lookup: pinnedLookup(destination),
    agent: false, // a pooled socket could have been opened to an address vetted for another hop
    signal,
  };
  const request = hop.url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(options, resolve);
    req.on("error", reject);
    req.end(body);
  });
}


/** Up to `cap` bytes of the body; what arrives before an error or the timeout is kept. */
function readCapped(res: IncomingMessage, cap: number): Promise<Buffer> {
  return new Promise(resolve => {
    const chunks: Buffer[] = [];
    let total = 0;
    const done = () => {
      res.destroy();
      resolve(Buffer.concat(chunks).subarray(0, cap));
    };
    res.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= cap) done();
    });
    res.on("end", done);
    res.on("error", done);
    res.on("close", done);
  });
}

function failure(run: Run, err: unknown): ActionError {
  if (err instanceof ActionError) return err;
  const what = run.hop ? `${describe(run.hop)}: ` : "";
  if (run.deadline.aborted) return new ActionTimeoutError(`${run.prefix}${what}no answer within ${run.opts.timeoutMs} ms`, { cause: err });
  if (run.opts.signal?.aborted) return new ActionError(ActionReason.ActionFailed, `${run.prefix}${what}aborted`, false, { cause: err });
  const code = (err as NodeJS.ErrnoException).code;
  const detail = err instanceof Error ? err.message : String(err);
  return new ActionConnectionError(`${run.prefix}${what}${code && !detail.includes(code) ? `${detail} (${code})` : detail}`, code, { cause: err });
}
