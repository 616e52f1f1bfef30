// Downloading against a real HTTP server on loopback: status codes, the byte cap, timeouts,
// refused connections, and URLs that must not leak their query string into messages.
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { ArtifactError, Reason } from "../api";
import { downloadArtifact, type ArtifactLimits } from "./index";

const limits: Pick<ArtifactLimits, "maxDownloadBytes" | "downloadTimeoutMs"> = { maxDownloadBytes: 1024, downloadTimeoutMs: 2_000 };

/** Runs `fn` against a fresh server on 127.0.0.1, then closes it and every open connection. */
async function withServer<T>(handler: RequestListener, fn: (base: string) => Promise<T>): Promise<T> {
  const server = createServer(handler);
  await new Promise<void>(ok => server.listen(0, "127.0.0.1", ok));
  try {
    return await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise(ok => server.close(ok));
  }
}

async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>(ok => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  await new Promise(ok => server.close(ok));
  return port;
}

async function failure(p: Promise<unknown>): Promise<ArtifactError> {
  try {
    await p;
  } catch (err) {
    return err as ArtifactError;
  }
  throw new Error("expected an error, got a result");
}

describe("downloadArtifact", () => {
  it("returns the exact body of a 200", async () => {
    const body = Buffer.from([0x1f, 0x8b, 0, 1, 2, 3, 255]);
    const got = await withServer(
      (_req, res) => res.writeHead(200, { "content-length": body.length }).end(body),
      base => downloadArtifact({ url: `${base}/a.tar.gz` }, limits),
    );
    expect(got.equals(body)).toBe(true);
  });

  it("accepts a body of exactly the cap", async () => {
    const got = await withServer(
      (_req, res) => res.end(Buffer.alloc(1024, 7)),
      base => downloadArtifact({ url: `${base}/a.tar.gz` }, limits),
    );
    expect(got.length).toBe(1024);
  });

  const stream = (total: number): RequestListener => (_req, res) => {
    res.writeHead(200); // no content-length: chunked, so only the reader can enforce the cap
    for (let sent = 0; sent < total; sent += 256) res.write(Buffer.alloc(256));
    res.end();
  };

  it.each([
    { name: "404", handler: ((_req, res) => res.writeHead(404).end("not found")) as RequestListener, message: /^downloading artifact from http:\/\/127\.0\.0\.1:\d+\/ns\/a\.tar\.gz: HTTP 404 Not Found$/ },
    { name: "500", handler: ((_req, res) => res.writeHead(500).end("boom")) as RequestListener, message: /\/ns\/a\.tar\.gz: HTTP 500 Internal Server Error$/ },
    { name: "204 is not a download either", handler: ((_req, res) => res.writeHead(204).end()) as RequestListener, message: /: HTTP 204 No Content$/ },
    { name: "a content-length over the cap", handler: ((_req, res) => res.writeHead(200, { "content-length": 4096 }).end(Buffer.alloc(4096))) as RequestListener, message: /\/ns\/a\.tar\.gz: content-length 4096 exceeds the download cap of 1 KiB|download cap of 1024 bytes \(1 KiB\)/ },
    { name: "a streamed body over the cap", handler: stream(64 * 1024), message: /\/ns\/a\.tar\.gz: body exceeds the download cap of 1024 bytes \(1 KiB\)/ },
    { name: "a server that never answers", handler: (() => undefined) as RequestListener, message: /\/ns\/a\.tar\.gz: timed out after 200 ms$/ },
  ])("$name", async ({ handler, message }) => {
    const err = await withServer(handler, base => failure(downloadArtifact({ url: `${base}/ns/a.tar.gz?token=s3cret` }, { ...limits, downloadTimeoutMs: 200 })));
    expect(err).toBeInstanceOf(ArtifactError);
    expect(err.reason).toBe(Reason.ArtifactFetchFailed);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain("s3cret");
  });

  it.each([
    { name: "connection refused", url: async () => `http://127.0.0.1:${await refusedPort()}/a.tar.gz?sig=s3cret`, message: /^downloading artifact from http:\/\/127\.0\.0\.1:\d+\/a\.tar\.gz: connect ECONNREFUSED/ },
    { name: "credentials in the URL", url: async () => "http://user:s3cret@127.0.0.1:9/a.tar.gz", message: /^artifact url http:\/\/127\.0\.0\.1:9\/a\.tar\.gz: credentials in the URL are not supported$/ },
    { name: "a file: URL", url: async () => "file:///etc/passwd", message: /^artifact url file:\/\/\/etc\/passwd: scheme file is not supported \(only http and https\)$/ },
    { name: "not a URL", url: async () => "not a url s3cret", message: /^artifact url is not a valid URL$/ },
  ])("$name", async ({ url, message }) => {
    const err = await failure(downloadArtifact({ url: await url() }, limits));
    expect(err).toBeInstanceOf(ArtifactError);
    expect(err.reason).toBe(Reason.ArtifactFetchFailed);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain("s3cret");
  });

  it("stops when the caller aborts", async () => {
    const controller = new AbortController();
    const err = await withServer(
      () => controller.abort(),
      base => failure(downloadArtifact({ url: `${base}/a.tar.gz` }, limits, controller.signal)),
    );
    expect(err.reason).toBe(Reason.ArtifactFetchFailed);
    expect(err.message).toMatch(/\/a\.tar\.gz: aborted$/);
  });

  describe("the destination guard (the URL is a tenant's to choose)", () => {
    const redirectTo = (location: string): RequestListener => (_req, res) => res.writeHead(302, { location }).end();
    it.each([
      { name: "a cloud metadata address", url: "http://169.254.169.254/latest/meta-data/a.tar.gz", message: /: destination 169\.254\.169\.254 is a cloud metadata address/ },
      { name: "a link-local address", url: "http://169.254.10.1/a.tar.gz", message: /: destination 169\.254\.10\.1 is link-local/ },
      { name: "an unspecified address", url: "http://0.0.0.0:80/a.tar.gz", message: /: destination 0\.0\.0\.0 is an unspecified address/ },
      { name: "a name that resolves to a metadata address", url: "http://artifacts.test/a.tar.gz", message: /: destination 169\.254\.169\.254 \(artifacts\.test\) is a cloud metadata address/ },
    ])("refuses $name, connecting nowhere", async ({ url, message }) => {
      const lookup = async () => [{ address: "169.254.169.254", family: 4 }];
      const err = await failure(downloadArtifact({ url }, limits, undefined, { lookup }));
      expect(err.reason).toBe(Reason.ArtifactFetchFailed);
      expect(err.message).toMatch(message);
    });

    it("refuses a redirect to a metadata address, naming the hop", async () => {
      const err = await withServer(redirectTo("http://169.254.169.254/latest/api/token"), base => failure(downloadArtifact({ url: `${base}/ns/a.tar.gz` }, limits)));
      expect(err.message).toMatch(/^downloading artifact from http:\/\/127\.0\.0\.1:\d+\/ns\/a\.tar\.gz: redirect from http:\/\/127\.0\.0\.1:\d+\/ns\/a\.tar\.gz: destination 169\.254\.169\.254 is a cloud metadata address/);
    });

    it("follows a redirect to an allowed place, and stops after five", async () => {
      const body = Buffer.from("the archive");
      const ok = await withServer((req, res) => (req.url === "/final" ? res.writeHead(200).end(body) : res.writeHead(301, { location: "/final" }).end()), base => downloadArtifact({ url: `${base}/start` }, limits));
      expect(ok).toEqual(body);
      const loop = await withServer(redirectTo("/again"), base => failure(downloadArtifact({ url: `${base}/again` }, limits)));
      expect(loop.message).toMatch(/: more than 5 redirects$/);
    });

    it("loopback and private addresses stay allowed (a source serves from inside the cluster); the allowlist lets a refused one through", async () => {
      const body = Buffer.from("ok");
      await expect(withServer((_req, res) => res.writeHead(200).end(body), base => downloadArtifact({ url: `${base}/a.tar.gz` }, limits))).resolves.toEqual(body);
      const err = await failure(downloadArtifact({ url: "http://169.254.10.1:9/a.tar.gz" }, { ...limits, downloadTimeoutMs: 300 }, undefined, { allowlist: ["169.254.10.1"] }));
      expect(err.message).not.toMatch(/link-local/); // let through: it fails on the network instead
    });
  });
});
