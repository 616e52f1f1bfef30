// Gunzip with a hard cap on output, so that a decompression bomb fails with a typed error
// instead of exhausting memory. Two forms: sync (pure, the whole stream) and async (off the
// event loop, streamed into the tar reader).
import { constants as bufferConstants } from "node:buffer";
import { createGunzip, gunzipSync } from "node:zlib";
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
 * Inflates on zlib's thread pool, handing each chunk to `take` as it comes (a 100 MiB archive
 * takes a noticeable fraction of a second to inflate, and the controller also serves the gate,
 * which must stay responsive). Stops at the cap, or as soon as `take` throws (untar.ts refuses a
 * bomb within a few blocks of where it gives itself away); nothing here holds the output.
 */
export function inflate(bytes: Uint8Array, limits: CapLimits, take: (chunk: Buffer) => void): Promise<void> {
  let cap: number;
  try {
    cap = checkedCap(bytes, limits);
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise((resolve, reject) => {
    const gz = createGunzip();
    let total = 0;
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      gz.destroy();
      reject(err);
    };
    gz.on("data", (chunk: Buffer) => {
      if (settled) return;
      total += chunk.length;
      if (total > cap) return fail(overCap(cap));
      try {
        take(chunk);
      } catch (err) {
        fail(err);
      }
    });
    gz.on("end", () => {
      if (settled) return;
      settled = true;
      resolve();
    });
    gz.on("error", err => fail(gunzipFailed(err, cap)));
    gz.end(bytes);
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
  if (code === "ERR_BUFFER_TOO_LARGE") return overCap(cap, err);
  if (code === "Z_BUF_ERROR") return extractionFailed(`gzip stream is truncated (${detail})`, err);
  return extractionFailed(`gzip stream is corrupt (${detail})`, err);
}

/** The decompressed stream passed the cap (zlib's maxOutputLength, or the streamed count). */
function overCap(cap: number, cause?: unknown): ArtifactError {
  return extractionFailed(`decompressed archive exceeds the cap of ${formatBytes(cap)} (maxExtractedBytes plus tar framing for maxEntries entries); refusing a possible decompression bomb`, cause);
}

function extractionFailed(message: string, cause?: unknown): ArtifactError {
  return new ArtifactError(Reason.ArtifactExtractionFailed, message, cause === undefined ? undefined : { cause });
}
