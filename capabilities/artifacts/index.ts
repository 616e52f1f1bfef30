// Artifacts: from an ExternalArtifact's status.artifact to the objects of one stage. Download,
// verify, extract and parse each either return the complete result or throw a typed error.
import type { Artifact } from "../api";
import { verifyArtifact } from "./digest";
import { downloadArtifact } from "./fetch";
import { defaultLimits, type ArtifactLimits } from "./limits";
import { isManifestFile, parseManifests, type ParsedObject } from "./manifests";
import { extractTarGzAsync } from "./untar";

export { parseDigest, verifyArtifact, verifyDigest, verifySize } from "./digest";
export { downloadArtifact, type DownloadGuard } from "./fetch";
export { gunzipArchive } from "./gunzip";
export { decompressedCap, defaultLimits, formatBytes, type ArtifactLimits } from "./limits";
export { describeSource, isManifestFile, parseManifests, type ManifestObject, type ManifestSource, type ParsedObject } from "./manifests";
export { stageDirectory, StagePathError } from "./stage-path";
export { extractTar, extractTarGz, extractTarGzAsync, normaliseEntryName, type ArchiveFiles, type ExtractLimits } from "./untar";

/**
 * Download → verify → extract → parse, for one stage's `path` inside the artifact.
 * Throws ArtifactError (fetch, verification, extraction), ManifestError or StagePathError
 * (both Reason.ManifestInvalid); never returns a partial set.
 */
export async function loadStageManifests(
  artifact: Pick<Artifact, "url" | "digest" | "size">,
  path: string | undefined,
  limits: ArtifactLimits = defaultLimits,
  signal?: AbortSignal,
): Promise<ParsedObject[]> {
  const bytes = await downloadArtifact(artifact, limits, signal);
  verifyArtifact(bytes, artifact);
  const files = await extractTarGzAsync(bytes, limits, isManifestFile);
  return parseManifests(files, path);
}
