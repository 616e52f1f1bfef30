// Gunzip with a hard cap on output, so that a decompression bomb fails with a typed error
// instead of exhausting memory. Two forms: sync (pure) and async (off the event loop).
import { constants as bufferConstants } from "node:buffer";
import { createGunzip, gunzipSync } from "node:zlib";
import { ArtifactError, Reason } from "../api";
import { decompressedCap, formatBytes, trailerAllowance, type ArtifactLimits } from "./limits";
import { BLOCK, isZeroBlock, paxRecords, readHeader } from "./tar-format";

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
 * responsive. While it inflates, each tar header is read as soon as it arrives (HeaderScan), so
 * a bomb stops within a few blocks instead of at the cap; untar.ts checks everything again,
 * precisely, on the whole stream. The output goes straight into one buffer of the cap's size,
 * allocated uninitialised: its pages take memory only as they are written, and there is no
 * second copy to join chunks at the end.
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
    let out: Buffer | undefined = Buffer.allocUnsafeSlow(cap);
    let total = 0;
    let settled = false;
    const scan = new HeaderScan({ maxFileBytes: limits.maxFileBytes ?? Number.MAX_SAFE_INTEGER, maxExtractedBytes: limits.maxExtractedBytes, maxEntries: limits.maxEntries });
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      out = undefined; // let the partial stream go now, not when the promise is collected
      gz.destroy();
      reject(err);
    };
    gz.on("data", (chunk: Buffer) => {
      if (settled || !out) return;
      if (total + chunk.length > cap) return fail(gunzipFailed(Object.assign(new Error("over the cap"), { code: "ERR_BUFFER_TOO_LARGE" }), cap));
      chunk.copy(out, total);
      total += chunk.length;
      try {
        scan.feed(out, total);
      } catch (err) {
        fail(err);
      }
    });
    gz.on("end", () => {
      if (settled || !out) return;
      settled = true;
      resolve(out.subarray(0, total));
    });
    gz.on("error", err => fail(gunzipFailed(err, cap)));
    gz.end(bytes);
  });
}

/**
 * Reads each tar header of a stream as soon as its 512 bytes are in, and refuses at once what
 * untar.ts would refuse at the end: an entry of any type that declares more than a file may
 * hold, declared sizes that add up past the total cap, too many entries, and more than a
 * record's padding after the end of the archive (or after a header that does not parse, which
 * untar.ts then names). A bomb of zeros with no header at all is one that "ends" at once.
 */
class HeaderScan {
  private next = 0;
  /** A pax header's size for the entry after it (as untar.ts reads it). */
  private paxSize?: number;
  /** Where the archive ended (its zero block, or a header that does not parse). */
  private endedAt?: number;
  private malformed?: string;
  private declared = 0;
  private entries = 0;

  constructor(private readonly limits: { maxFileBytes: number; maxExtractedBytes: number; maxEntries: number }) {}

  feed(stream: Buffer, total: number): void {
    while (this.endedAt === undefined && total >= this.next + BLOCK) {
      if (isZeroBlock(stream, this.next)) {
        this.endedAt = this.next;
        break;
      }
      let header;
      try {
        header = readHeader(stream, this.next);
      } catch (err) {
        this.endedAt = this.next;
        this.malformed = (err as Error).message;
        break;
      }
      if (header.type === "x" && header.size <= this.limits.maxFileBytes) {
        // Its records may give the next entry's real size: wait for the whole of them.
        if (total < this.next + BLOCK + header.size) return;
        try {
          const size = paxRecords(stream.subarray(this.next + BLOCK, this.next + BLOCK + header.size), this.next).get("size");
          this.paxSize = size !== undefined && /^\d+$/.test(size) ? Number(size) : undefined;
        } catch (err) {
          this.endedAt = this.next;
          this.malformed = (err as Error).message;
          break;
        }
      } else if (this.paxSize !== undefined && header.type !== "g") {
        header = { ...header, size: this.paxSize };
        this.paxSize = undefined;
      }
      const regular = header.type === "0" || header.type === "\0" || header.type === "7";
      if (header.size > this.limits.maxFileBytes) {
        const what = regular ? `archive entry ${JSON.stringify(header.name)}` : `archive entry ${JSON.stringify(header.name)} of type ${JSON.stringify(header.type)}`;
        throw extractionFailed(`${what} declares ${formatBytes(header.size)}, over the per-file cap of ${formatBytes(this.limits.maxFileBytes)} (maxFileBytes); refusing a possible decompression bomb`);
      }
      this.declared += header.size;
      if (this.declared > this.limits.maxExtractedBytes) {
        throw extractionFailed(`archive entries up to ${JSON.stringify(header.name)} declare ${formatBytes(this.declared)} in all, over the cap of ${formatBytes(this.limits.maxExtractedBytes)} (maxExtractedBytes); refusing a possible decompression bomb`);
      }
      // Each entry may come with a pax and a GNU long-name header: more than three per entry is over maxEntries.
      if (++this.entries > 3 * this.limits.maxEntries) {
        throw extractionFailed(`archive holds more than ${3 * this.limits.maxEntries} headers, more than ${this.limits.maxEntries} entries (maxEntries) can need; refusing a possible decompression bomb`);
      }
      this.next += BLOCK + Math.ceil(header.size / BLOCK) * BLOCK;
    }
    if (this.endedAt !== undefined && total - this.endedAt > trailerAllowance + BLOCK) {
      const where = this.malformed ? `a header that does not parse at byte ${this.endedAt} (${this.malformed})` : `the end of the tar archive at byte ${this.endedAt}`;
      throw extractionFailed(`more than ${formatBytes(trailerAllowance)} of data after ${where}; refusing a possible decompression bomb`);
    }
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
