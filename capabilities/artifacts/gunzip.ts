// Gunzip with a hard cap on output, so that a decompression bomb fails with a typed error
// instead of exhausting memory. Two forms: sync (pure) and async (off the event loop).
import { constants as bufferConstants } from "node:buffer";
import { createGunzip, gunzipSync } from "node:zlib";
import { ArtifactError, Reason } from "../api";
import { decompressedCap, formatBytes, type ArtifactLimits } from "./limits";
import { BLOCK, isZeroBlock, readHeader } from "./tar-format";

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
 * The same on zlib's thread pool, streamed: a 100 MiB archive takes a noticeable fraction of a
 * second to inflate, and the controller process also serves the gate, which must stay
 * responsive. While it inflates, each tar header is read as soon as it arrives, so an entry that
 * declares more than maxFileBytes (a bomb's one huge file of zeros) stops it after 512 bytes
 * instead of at the cap; untar.ts checks everything again, precisely, on the whole stream.
 */
export function gunzipArchiveAsync(bytes: Uint8Array, limits: CapLimits & Partial<Pick<ArtifactLimits, "maxFileBytes">>): Promise<Buffer> {
  let cap: number;
  try {
    cap = checkedCap(bytes, limits);
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise((resolve, reject) => {
    const gz = createGunzip();
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const scan = new HeaderScan(limits.maxFileBytes ?? Number.MAX_SAFE_INTEGER);
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      chunks.length = 0; // let the partial stream go now, not when the promise is collected
      gz.destroy();
      reject(err);
    };
    gz.on("data", (chunk: Buffer) => {
      if (settled) return;
      total += chunk.length;
      if (total > cap) return fail(gunzipFailed(Object.assign(new Error("over the cap"), { code: "ERR_BUFFER_TOO_LARGE" }), cap));
      chunks.push(chunk);
      try {
        scan.feed(chunks, total);
      } catch (err) {
        fail(err);
      }
    });
    gz.on("end", () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks, total));
    });
    gz.on("error", err => fail(gunzipFailed(err, cap)));
    gz.end(bytes);
  });
}

/** Reads each tar header of a stream as soon as its 512 bytes are in, and refuses one that declares too much. */
class HeaderScan {
  private next = 0;
  private done = false;
  /** The chunk holding `next`, and where it starts in the stream: `next` only grows. */
  private chunk = 0;
  private chunkStart = 0;

  constructor(private readonly maxFileBytes: number) {}

  feed(chunks: readonly Buffer[], total: number): void {
    while (!this.done && total >= this.next + BLOCK) {
      const block = this.block(chunks);
      if (isZeroBlock(block, 0)) return void (this.done = true);
      let header;
      try {
        header = readHeader(block, 0);
      } catch {
        return void (this.done = true); // malformed: untar.ts reports it with the full picture
      }
      const regular = header.type === "0" || header.type === "\0" || header.type === "7";
      if (regular && header.size > this.maxFileBytes) {
        throw extractionFailed(`archive entry ${JSON.stringify(header.name)} declares ${formatBytes(header.size)}, over the per-file cap of ${formatBytes(this.maxFileBytes)} (maxFileBytes); refusing a possible decompression bomb`);
      }
      this.next += BLOCK + Math.ceil(header.size / BLOCK) * BLOCK;
    }
  }

  /** The 512 bytes at `next` (copied only when they straddle chunks). */
  private block(chunks: readonly Buffer[]): Buffer {
    while (this.next >= this.chunkStart + chunks[this.chunk]!.length) this.chunkStart += chunks[this.chunk++]!.length;
    const at = this.next - this.chunkStart;
    const first = chunks[this.chunk]!;
    if (at + BLOCK <= first.length) return first.subarray(at, at + BLOCK);
    const parts: Buffer[] = [first.subarray(at)];
    let have = first.length - at;
    for (let i = this.chunk + 1; have < BLOCK; i++) {
      parts.push(chunks[i]!);
      have += chunks[i]!.length;
    }
    return Buffer.concat(parts).subarray(0, BLOCK);
  }
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
