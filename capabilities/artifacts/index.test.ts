// The whole path for one stage, black-box through index.ts: a real HTTP server serves the
// tar.gz, and every failure arrives as one typed error with nothing partial returned.
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { tarGz, type TarEntry } from "../../local-cluster/tar";
import { type Artifact, Reason, StageSetError } from "../api";
import { defaultLimits, loadStageManifests } from "./index";

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

/** Serves `bytes` at /a.tar.gz and publishes them like a Flux producer would (digest, size). */
async function withArtifact<T>(bytes: Buffer, fn: (artifact: Artifact) => Promise<T>): Promise<T> {
  const server = createServer((req, res) => (req.url === "/a.tar.gz" ? res.end(bytes) : res.writeHead(404).end()));
  await new Promise<void>(ok => server.listen(0, "127.0.0.1", ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/a.tar.gz`;
  const hex = createHash("sha256").update(bytes).digest("hex");
  try {
    return await fn({ url, digest: `sha256:${hex}`, size: bytes.length, revision: `v1@sha256:${hex}`, path: "a.tar.gz", lastUpdateTime: "2026-01-01T00:00:00Z" });
  } finally {
    server.closeAllConnections();
    await new Promise(ok => server.close(ok));
  }
}

const good: TarEntry[] = [
  { name: "crds/", type: "dir" },
  { name: "crds/c.yaml", body: cm("crd") },
  { name: "app/web.yaml", body: cm("web") },
  { name: "app/README.txt", body: "ignored" },
];

describe("loadStageManifests", () => {
  it("downloads, verifies, extracts and parses one stage's path", async () => {
    const got = await withArtifact(tarGz(good), artifact => loadStageManifests(artifact, "./app", defaultLimits));
    expect(got).toEqual([{ object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web" } }, source: { file: "app/web.yaml", document: 0 } }]);
  });

  it.each([
    { name: "artifact missing on the server", entries: good, edit: (a: Artifact) => ({ ...a, url: a.url.replace("a.tar.gz", "gone.tar.gz") }), path: "./", reason: Reason.ArtifactFetchFailed, message: /gone\.tar\.gz: HTTP 404/ },
    { name: "digest mismatch", entries: good, edit: (a: Artifact) => ({ ...a, digest: `sha256:${"0".repeat(64)}` }), path: "./", reason: Reason.ArtifactVerificationFailed, message: /expected sha256:0{64}, the bytes downloaded hash to sha256:[a-f0-9]{12}\.\.\.$/ },
    { name: "symlink in the archive", entries: [...good, { name: "app/x.yaml", type: "symlink", target: "/etc/passwd" } as TarEntry], edit: (a: Artifact) => a, path: "./", reason: Reason.ArtifactExtractionFailed, message: /entry "app\/x\.yaml": it is a symbolic link/ },
    { name: "invalid manifest", entries: [...good, { name: "app/bad.yaml", body: "kind: [" }], edit: (a: Artifact) => a, path: "./app", reason: Reason.ManifestInvalid, message: /^app\/bad\.yaml \(document 1\): invalid YAML/ },
    { name: "path not found", entries: good, edit: (a: Artifact) => a, path: "./db", reason: Reason.ManifestInvalid, message: /^path "\.\/db": no such directory in the artifact$/ },
  ])("$name", async ({ entries, edit, path, reason, message }) => {
    const err = await withArtifact(tarGz(entries), artifact =>
      loadStageManifests(edit(artifact), path).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(err).toBeInstanceOf(StageSetError);
    expect((err as StageSetError).reason).toBe(reason);
    expect((err as StageSetError).message).toMatch(message);
  });
});
