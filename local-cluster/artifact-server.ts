// A Flux-like artifact producer for the local run's demo and the tests: packs manifests into a tar.gz, serves it on
// loopback, and publishes it as an ExternalArtifact's status.artifact (url, revision,
// digest over the exact bytes, size), revision after revision.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server, type ServerResponse } from "node:http";
import { join, relative } from "node:path";
import { K8s } from "pepr";
import { ExternalArtifact, type Artifact } from "../capabilities/api";
import { tarGz, type TarEntry } from "./tar";

export interface ArtifactRef {
  namespace: string;
  name: string;
}

export type ArtifactContent =
  | { files: Record<string, string> }
  | { dir: string }
  | { entries: TarEntry[] }
  | { raw: Buffer };

export interface PublishOptions {
  /** Human part of the revision (`<label>@sha256:<hex>`); default "v<n>". */
  label?: string;
  /** Publish this digest instead of the real one (to test verification). */
  digest?: string;
  /** Publish under exactly this revision (to republish a revision with new content). */
  revision?: string;
}

export interface ArtifactServer {
  url: string;
  publish(ref: ArtifactRef, content: ArtifactContent, opts?: PublishOptions): Promise<Artifact>;
  /** Serve these bytes at an artifact's URL instead of what was published. */
  tamper(url: string, bytes: Buffer): void;
  /** Answer the artifact's URL with a 302 to `location` instead of its bytes. */
  redirect(url: string, location: string): void;
  /** Answer the artifact's URL only after this many milliseconds (a slow store). */
  delay(url: string, ms: number): void;
  /** While down, every request gets a 503. */
  setDown(down: boolean): void;
  /** GET requests served, by URL path. */
  hits: Map<string, number>;
  stop(): Promise<void>;
}

export interface ArtifactServerOptions {
  /** Address to listen on (default loopback); a node cluster's pods reach its bridge address. */
  host?: string;
}

export async function startArtifactServer(opts: ArtifactServerOptions = {}): Promise<ArtifactServer> {
  const host = opts.host ?? "127.0.0.1";
  const blobs = new Map<string, Buffer>();
  const redirects = new Map<string, string>();
  const delays = new Map<string, number>();
  const hits = new Map<string, number>();
  let down = false;
  let published = 0;

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    setTimeout(() => answer(path, res), delays.get(path) ?? 0);
  });
  const answer = (path: string, res: ServerResponse) => {
    const blob = blobs.get(path);
    if (down) return void res.writeHead(503).end("artifact storage unavailable");
    const location = redirects.get(path);
    if (location) return void res.writeHead(302, { location }).end();
    if (!blob) return void res.writeHead(404).end("not found");
    res.writeHead(200, { "content-type": "application/gzip", "content-length": blob.length }).end(blob);
  };
  await new Promise<void>(ok => server.listen(0, host, ok));
  const url = `http://${host}:${(server.address() as { port: number }).port}`;

  return {
    url,
    hits,
    tamper: (artifactUrl, bytes) => void blobs.set(new URL(artifactUrl).pathname, bytes),
    redirect: (artifactUrl, location) => void redirects.set(new URL(artifactUrl).pathname, location),
    delay: (artifactUrl, ms) => void delays.set(new URL(artifactUrl).pathname, ms),
    setDown: d => void (down = d),
    stop: () => new Promise(ok => server.close(() => ok())),
    async publish(ref, content, opts = {}) {
      const bytes = pack(content);
      const hex = createHash("sha256").update(bytes).digest("hex");
      const path = `/${ref.namespace}/${ref.name}/${hex}.tar.gz`;
      blobs.set(path, bytes);
      published++;
      const artifact: Artifact = {
        digest: opts.digest ?? `sha256:${hex}`,
        lastUpdateTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
        path: path.slice(1),
        revision: opts.revision ?? `${opts.label ?? `v${published}`}@sha256:${hex}`,
        url: url + path,
        size: bytes.length,
      };
      await publishStatus(ref, artifact);
      return artifact;
    },
  };
}

/** Creates the ExternalArtifact if needed and writes its status through /status, as Flux does. */
async function publishStatus(ref: ArtifactRef, artifact: Artifact): Promise<void> {
  const meta = { name: ref.name, namespace: ref.namespace };
  await K8s(ExternalArtifact).Apply({ metadata: meta, spec: {} }, { force: true });
  const ready = {
    type: "Ready",
    status: "True",
    reason: "Succeeded",
    message: `stored artifact for revision '${artifact.revision}'`,
    lastTransitionTime: artifact.lastUpdateTime,
  };
  await K8s(ExternalArtifact).PatchStatus({ metadata: meta, status: { artifact, conditions: [ready] } });
}

function pack(content: ArtifactContent): Buffer {
  if ("raw" in content) return content.raw;
  if ("entries" in content) return tarGz(content.entries);
  if ("files" in content) {
    const names = Object.keys(content.files).sort();
    return tarGz(names.map(name => ({ name, body: content.files[name]! })));
  }
  return tarGz(walk(content.dir).map(file => ({ name: relative(content.dir, file), body: readFileSync(file) })));
}

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap(name => {
      const full = join(dir, name);
      return statSync(full).isDirectory() ? walk(full) : [full];
    });
}
