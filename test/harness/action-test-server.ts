// Test helpers for the http verb (imported by tests only): a loopback server that records
// every request, and a resolver for test hostnames.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ActionError } from "../../capabilities/actions/errors";
import type { HttpActionOptions } from "../../capabilities/actions/http";
import type { HttpVerb } from "../../capabilities/actions/spec";
import type { Lookup } from "../../capabilities/actions/ssrf";

export interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Server {
  port: number;
  base: string;
  seen: Seen[];
}

export type Handler = (seen: Seen, res: ServerResponse, server: Server) => void;

/** Runs `fn` against a fresh server that records each request, then closes it. */
export async function withServer<T>(handler: Handler, fn: (server: Server) => Promise<T>, address = "127.0.0.1", port = 0): Promise<T> {
  const server: Server = { port: 0, base: "", seen: [] };
  const http = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      const seen = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body };
      server.seen.push(seen);
      handler(seen, res, server);
    });
  });
  await new Promise<void>(ok => http.listen(port, address, ok));
  server.port = (http.address() as AddressInfo).port;
  server.base = `http://${address}:${server.port}`;
  try {
    return await fn(server);
  } finally {
    http.closeAllConnections();
    await new Promise(ok => http.close(ok));
  }
}

/** A resolver for test hostnames; counts its calls. */
export function lookupOf(table: Record<string, string | string[]>): Lookup & { calls: string[] } {
  const calls: string[] = [];
  const lookup = async (host: string) => {
    calls.push(host);
    const entry = table[host];
    if (entry === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    const answer = Array.isArray(entry) ? entry[Math.min(calls.filter(h => h === host).length, entry.length) - 1]! : entry;
    return [{ address: answer, family: answer.includes(":") ? 6 : 4 }];
  };
  return Object.assign(lookup, { calls });
}

export async function failure(p: Promise<unknown>): Promise<ActionError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  if (err === undefined) throw new Error("expected an error, got a result");
  return err as ActionError;
}

export const ok: Handler = (_seen, res) => void res.writeHead(200).end("fine");
export const status = (code: number, body = ""): Handler => (_seen, res) => void res.writeHead(code).end(body);
export const redirect = (code: number, location: (s: Server) => string): Handler => (seen, res, s) =>
  void (seen.path === "/start" ? res.writeHead(code, { location: location(s) }).end() : res.writeHead(200).end());

export const secrets: HttpActionOptions["secrets"] = async ref => {
  if (ref.name === "hook") return { token: "t0ken", payload: '{"from":"secret"}' }[ref.key] ?? Promise.reject(new Error(`Secret hook has no key ${ref.key}`));
  throw new Error(`secrets "${ref.name}" not found`);
};

export const options = (more: Partial<HttpActionOptions> = {}): HttpActionOptions => ({ name: "smoke", allowlist: ["127.0.0.1"], secrets, timeoutMs: 2_000, ...more });
export const get = (url: string, more: Partial<HttpVerb> = {}): HttpVerb => ({ method: "GET", url, ...more });
