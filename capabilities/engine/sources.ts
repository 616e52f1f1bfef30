// Stage sources: which artifact each stage's sourceRef publishes now, and its files.
// Extracted archives are cached by digest, so waiting on health or resuming after a restart
// does not download again, and a run sees exactly the bytes it pinned.
import { Reason, resolveRef, StageSetError, type Artifact, type Stage } from "../api";
import type { EngineMetrics } from "../metrics";
import { Semaphore } from "./semaphore";
import { defaultLimits, downloadArtifact, type DownloadGuard, extractTarGzAsync, isManifestFile, parseManifests, verifyArtifact, type ArchiveFiles, type ArtifactLimits, type ParsedObject } from "../artifacts";
import { resourcePath, type Discovery, type KubeClient } from "../kube";

export interface ResolvedSource {
  stage: string;
  artifact: Artifact;
}

interface SourceObject {
  status?: { artifact?: Artifact };
}

/** Reads every stage's source; any stage without an artifact fails the whole run up front. */
/**
 * Each stage's source and its artifact. A stage whose source cannot be resolved does not stop
 * the others from resolving: their stages can still be followed for live health while the run
 * waits. The first failure in spec order is returned as `failure`.
 */
export async function resolveSources(client: KubeClient, discovery: Discovery, namespace: string, stages: Stage[]): Promise<{ sources: Map<string, ResolvedSource>; failure?: StageSetError }> {
  const sources = new Map<string, ResolvedSource>();
  let failure: StageSetError | undefined;
  for (const stage of stages) {
    try {
      sources.set(stage.name, { stage: stage.name, artifact: await resolveArtifact(client, discovery, namespace, stage) });
    } catch (err) {
      if (!(err instanceof StageSetError)) throw err;
      failure ??= err;
    }
  }
  return { sources, failure };
}

async function resolveArtifact(client: KubeClient, discovery: Discovery, namespace: string, stage: Stage): Promise<ResolvedSource["artifact"]> {
  const ref = resolveRef(stage.sourceRef, namespace);
  const ns = ref.namespace;
  const what = `stage ${stage.name}: ${ref.kind} ${ns}/${ref.name}`;
  const resource = await discovery.resolve(ref.apiVersion, ref.kind);
  if (!resource) {
    const hint = ref.kind === "ExternalArtifact" ? " (install Flux 2.7 or later, or its ExternalArtifact CRD)" : "";
    throw new StageSetError(Reason.SourceKindNotInstalled, `${what}: the API server does not serve ${ref.kind} in ${ref.apiVersion}${hint}; the controller starts as soon as it does`);
  }
  const res = await client.get<SourceObject>(resourcePath(resource, ns, ref.name), { allow: [404] });
  if (res.status === 404) throw new StageSetError(Reason.SourceNotReady, `${what} not found`);
  const artifact = res.body.status?.artifact;
  if (!artifact?.url || !artifact.revision || !artifact.digest) throw new StageSetError(Reason.SourceNotReady, `${what} has no artifact yet`);
  return artifact;
}

/**
 * Extracted archives by digest, least recently used first out. Bounded by bytes: a kept file
 * is a view into its whole decompressed archive.
 */
export class ArtifactCache {
  private files = new Map<string, Promise<ArchiveFiles>>();
  private sizes = new Map<string, number>();
  // Memory under hostile input, whatever many tenants publish at once: a decompression holds up
  // to its cap (~139 MiB with the defaults), so one runs at a time; a download holds what has
  // arrived (up to maxDownloadBytes) until it is inflated, so four run at a time (a slow one
  // must not stall the rest, and a StageSet of many stages cannot queue them all in memory).
  private readonly downloads = new Semaphore(4);
  private readonly inflating = new Semaphore(1);

  constructor(
    private readonly metrics?: Pick<EngineMetrics, "artifactFetched">,
    private readonly limits: ArtifactLimits = defaultLimits,
    private readonly maxBytes = 16 * 1024 * 1024,
    /** Where downloads may connect: the controller's host allowlist, and DNS. */
    private readonly guard: DownloadGuard = {},
  ) {}

  /** The stage's objects from the pinned artifact; throws typed errors, never a partial set. */
  async objects(artifact: Artifact, path: string | undefined, stage: string, allowFile = false): Promise<ParsedObject[]> {
    const files = await this.get(artifact).catch(err => {
      throw prefixed(err, `stage ${stage}: artifact ${artifact.revision}`);
    });
    try {
      return parseManifests(files, path, allowFile, this.limits.maxManifestNodes);
    } catch (err) {
      throw prefixed(err, `stage ${stage}: artifact ${artifact.revision}`);
    }
  }

  private get(artifact: Artifact): Promise<ArchiveFiles> {
    const key = artifact.digest;
    const hit = this.files.get(key);
    if (hit) {
      this.files.delete(key); // refresh its place in the LRU order
      this.files.set(key, hit);
      return hit;
    }
    const load = this.load(artifact);
    this.files.set(key, load);
    load.then(
      files => {
        this.sizes.set(key, [...files.values()].reduce((n, b) => n + b.buffer.byteLength, 0) / Math.max(1, files.size));
        this.evict(key);
      },
      () => this.files.delete(key), // failures are not cached: the next run retries
    );
    return load;
  }

  private evict(keep: string): void {
    let total = [...this.sizes.values()].reduce((a, b) => a + b, 0);
    for (const key of this.files.keys()) {
      if (total <= this.maxBytes || key === keep) break;
      total -= this.sizes.get(key) ?? 0;
      this.files.delete(key);
      this.sizes.delete(key);
    }
  }

  private async load(artifact: Artifact): Promise<ArchiveFiles> {
    const started = performance.now();
    let size = 0;
    try {
      // A download keeps its slot until its bytes are inflated (or refused): downloaded archives
      // waiting for the one inflation slot are then at most four, never one per stage.
      const files = await this.downloads.run(async () => {
        const downloaded = await downloadArtifact(artifact, this.limits, undefined, this.guard);
        size = downloaded.length;
        verifyArtifact(downloaded, artifact);
        return this.inflating.run(() => extractTarGzAsync(downloaded, this.limits, isManifestFile));
      });
      this.metrics?.artifactFetched("success", size, (performance.now() - started) / 1000);
      return files;
    } catch (err) {
      this.metrics?.artifactFetched("error", size, (performance.now() - started) / 1000);
      throw err;
    }
  }
}

function prefixed(err: unknown, context: string): unknown {
  if (err instanceof StageSetError) return new StageSetError(err.reason, `${context}: ${err.message}`, err.terminal, { cause: err });
  return err;
}
