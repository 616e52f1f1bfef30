// A hardened loopback-or-cluster HTTP listener: small headers, header/request/idle
// timeouts, so a slow or hostile client cannot hold the server; shared by gate and metrics.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Listener {
  /** Base URL the server is reachable at (the bound port, with 127.0.0.1 for a wildcard). */
  url: string;
  port: number;
  close(): Promise<void>;
}

export const limits = {
  maxHeaderBytes: 8 * 1024,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 15_000,
};

/** Parse "host:port", ":port" or "[v6]:port". */
export function parseAddress(address: string): { host?: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(address.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`invalid listen address "${address}": expected host:port, :port or [v6]:port`);
  const host = m[1] ?? m[2];
  return { host: host ? host : undefined, port };
}

export async function listen(address: string, handler: http.RequestListener): Promise<Listener> {
  const { host, port } = parseAddress(address);
  const server = http.createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // How often Node enforces the two timeouts above (default 30 s): a slow client is cut
      // off within a second of its deadline, not half a minute later.
      connectionsCheckingInterval: 1_000,
    },
    handler,
  );
  server.timeout = limits.idleTimeoutMs;
  server.maxHeadersCount = 64;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = !host || host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>(resolve => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
