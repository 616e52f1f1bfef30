// Gunzip with a hard cap on output, so that a decompression bomb fails with a typed error
// instead of exhausting memory. Two forms: sync (pure) and async (off the event loop).
import { constants as bufferConstants } from "node:buffer";
import { gunzip, gunzipSync } from "node:zlib";
import { ArtifactError, Reason } from "../api";
import { decompressedCap, formatBytes, type ArtifactLimits } from "./limits";

type CapLimits = Pick<ArtifactLimits, "maxExtractedBytes" | "maxEntries">;

/** Decompresses a tar.gz into its tar stream, synchronously. */
export function gunzipArchive(bytes: Uint8Array, limits: CapLimits): Buffer {
  const cap = checkedCap(bytes, limits);
  try {
    return gunzipSync(bytes, { maxOutputLength: cap });
  } catch (err) {
    throw gunzipFailed(err, cap);
  }
}

/**
 * The same on zlib's thread pool: a 100 MiB archive takes a noticeable fraction of a second
 * to inflate, and the controller process also serves the gate, which must stay responsive.
 */
export function gunzipArchiveAsync(bytes: Uint8Array, limits: CapLimits): Promise<Buffer> {
  let cap: number;
  try {
    cap = checkedCap(bytes, limits);
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise((resolve, reject) => {
    gunzip(bytes, { maxOutputLength: cap }, (err, out) => (err ? reject(gunzipFailed(err, cap)) : resolve(out)));
  });
}

function checkedCap(bytes: Uint8Array, limits: CapLimits): number {
  // Flux's fetcher also refuses anything that is not gzip (fluxcd/pkg tar/untar.go).
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
    const head = Array.from(bytes.subarray(0, 4), b => `0x${b.toString(16).padStart(2, "0")}`).join(" ");
    throw extractionFailed(`artifact is not gzip-compressed (it starts with ${head || "nothing"}); a Flux artifact is a .tar.gz`);
  }
  return Math.min(decompressedCap(limits), bufferConstants.MAX_LENGTH);
}

function gunzipFailed(err: unknown, cap: number): ArtifactError {
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  const detail = err instanceof Error ? err.message : String(err);
  if (code === "ERR_BUFFER_TOO_LARGE") {
    return extractionFailed(
      `decompressed archive exceeds the cap of ${formatBytes(cap)} (maxExtractedBytes plus tar framing for maxEntries entries); refusing a possible decompression bomb`,
      err,
    );
  }
  if (code === "Z_BUF_ERROR") return extractionFailed(`gzip stream is truncated (${detail})`, err);
  return extractionFailed(`gzip stream is corrupt (${detail})`, err);
}

function extractionFailed(message: string, cause?: unknown): ArtifactError {
  return new ArtifactError(Reason.ArtifactExtractionFailed, message, cause === undefined ? undefined : { cause });
}
