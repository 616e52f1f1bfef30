// Extraction policy: a tar.gz becomes an in-memory map of regular files, or a typed error.
// Only regular files and directories are allowed, and names must stay inside the archive root.
import { ArtifactError, Reason } from "../api";
import { gunzipArchive, inflate } from "./gunzip";
import { formatBytes, trailerAllowance, type ArtifactLimits } from "./limits";
import { BLOCK, isZeroBlock, malformed, paxRecords, readHeader, type TarHeader } from "./tar-format";

export type ExtractLimits = Pick<ArtifactLimits, "maxExtractedBytes" | "maxFileBytes" | "maxEntries">;

/**
 * Path (normalised, no leading `./`) to content. Directories are implied by the file paths. A
 * file the extraction did not keep (see `keep`) is there, empty.
 */
export type ArchiveFiles = Map<string, Buffer>;

/** gunzip, then untar: the whole archive or an ArtifactExtractionFailed error. */
export function extractTarGz(bytes: Uint8Array, limits: ExtractLimits, keep?: (path: string) => boolean): ArchiveFiles {
  return extractTar(gunzipArchive(bytes, limits), limits, keep);
}

/**
 * The same off the event loop, streamed: each chunk zlib inflates goes straight through the
 * tar reader, so the archive is never held whole: only the files `keep` picks are kept (the
 * engine keeps manifests), and a bomb stops within a few blocks of where it gives itself away.
 */
export async function extractTarGzAsync(bytes: Uint8Array, limits: ExtractLimits, keep?: (path: string) => boolean): Promise<ArchiveFiles> {
  const reader = new TarReader(limits, keep);
  await inflate(bytes, limits, chunk => reader.write(chunk));
  return reader.finish();
}

const notKept = Buffer.alloc(0);

// Go's archive/tar caps pax and GNU long-name bodies at 1 MiB (maxSpecialFileSize).
const maxMetadataBytes = 1024 * 1024;

/** Metadata that applies to the next real entry: pax `path`/`size`, or a GNU long name. */
interface Pending {
  pax?: Map<string, string>;
  longName?: string;
}

/** Walks a whole tar stream in memory. */
export function extractTar(tar: Buffer, limits: ExtractLimits, keep?: (path: string) => boolean): ArchiveFiles {
  const reader = new TarReader(limits, keep);
  reader.write(tar);
  return reader.finish();
}

/** The entry whose data is being read: a metadata body, or a file's (kept only if picked). */
interface Entry {
  header: TarHeader;
  metadata: boolean;
  /** Where a kept file goes; undefined for a directory or a file not kept. */
  path?: string;
  size: number;
  body?: Buffer;
}

/**
 * A tar stream read in chunks of any size: every header is checked as soon as its block is in
 * (names, types, caps), so a refusal comes before the entry's data. After the end-of-archive
 * marker only zero padding may follow, and no more than a tar record's worth.
 */
export class TarReader {
  private readonly out: Collector;
  private pending: Pending = {};
  /** Bytes of the stream consumed so far. */
  private pos = 0;
  private readonly block = Buffer.alloc(BLOCK);
  private staged = 0;
  private entry?: Entry;
  /** Data bytes of the current entry still to come, then padding to the block boundary. */
  private dataLeft = 0;
  private padLeft = 0;
  private endedAt?: number;

  constructor(
    limits: ExtractLimits,
    private readonly keep: (path: string) => boolean = () => true,
  ) {
    this.out = new Collector(limits);
  }

  write(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.endedAt !== undefined) return this.trailer(chunk.subarray(at));
      if (this.entry) {
        const n = Math.min(this.dataLeft, chunk.length - at);
        if (this.entry.body) chunk.copy(this.entry.body, this.entry.size - this.dataLeft, at, at + n);
        this.dataLeft -= n;
        at += n;
        this.pos += n;
        if (this.dataLeft === 0) this.entryDone();
        continue;
      }
      if (this.padLeft > 0) {
        const n = Math.min(this.padLeft, chunk.length - at);
        this.padLeft -= n;
        at += n;
        this.pos += n;
        continue;
      }
      const n = Math.min(BLOCK - this.staged, chunk.length - at);
      chunk.copy(this.block, this.staged, at, at + n);
      this.staged += n;
      at += n;
      this.pos += n;
      if (this.staged === BLOCK) {
        this.staged = 0;
        this.header(this.pos - BLOCK);
      }
    }
  }

  finish(): ArchiveFiles {
    if (this.staged > 0) throw malformed(this.pos - this.staged, `truncated: only ${this.staged} bytes left`);
    if (this.entry) throw malformed(this.entry.header.offset, `entry data is truncated (declares ${this.entry.size} bytes, ${this.entry.size - this.dataLeft} remain)`);
    if (this.endedAt === undefined && (this.pending.pax || this.pending.longName !== undefined)) throw malformed(this.pos, "archive ends after an extended header, before its entry");
    return this.out.files;
  }

  private header(offset: number): void {
    if (isZeroBlock(this.block, 0)) {
      if (this.pending.pax || this.pending.longName !== undefined) throw malformed(offset, "archive ends after an extended header, before its entry");
      this.endedAt = offset;
      return;
    }
    const header = readHeader(this.block, 0, offset);
    const metadata = isMetadata(header.type);
    let entry: Entry;
    if (metadata) {
      if (header.size > maxMetadataBytes) throw malformed(offset, `extended header of ${header.size} bytes is over the 1 MiB limit`);
      entry = { header, metadata, size: header.size, body: Buffer.alloc(header.size) };
    } else {
      const name = entryName(this.pending, header);
      const size = paxSize(this.pending, header);
      this.out.checkCaps(name, size);
      const path = this.out.admit(header, name);
      this.pending = {};
      const kept = path !== undefined && this.keep(path);
      entry = { header, metadata, size, ...(kept ? { path, body: Buffer.alloc(size) } : {}) };
    }
    this.entry = entry;
    this.dataLeft = entry.size;
    if (this.dataLeft === 0) this.entryDone();
  }

  private entryDone(): void {
    const entry = this.entry!;
    this.entry = undefined;
    this.padLeft = Math.ceil(entry.size / BLOCK) * BLOCK - entry.size;
    if (entry.metadata) this.pending = withMetadata(this.pending, entry.header, entry.body!);
    else if (entry.path !== undefined && entry.body) this.out.files.set(entry.path, entry.body);
  }

  // After the first zero block only zero padding may follow; anything else would be entries
  // that some tools read and others ignore. And not much of it: zeros with no tar header at
  // all would otherwise inflate up to the cap.
  private trailer(rest: Buffer): void {
    const end = this.endedAt!;
    for (let i = 0; i < rest.length; i++) {
      if (rest[i] !== 0) throw malformed(end, `data follows the end-of-archive marker (at byte ${this.pos + i})`);
    }
    this.pos += rest.length;
    if (this.pos - end > trailerAllowance + BLOCK) {
      throw new ArtifactError(Reason.ArtifactExtractionFailed, `more than ${formatBytes(trailerAllowance)} of data after the end of the tar archive at byte ${end}; refusing a possible decompression bomb`);
    }
  }
}

function isMetadata(type: string): boolean {
  return type === "x" || type === "g" || type === "L" || type === "K";
}

function entryName(pending: Pending, header: TarHeader): string {
  // Precedence as in Go's archive/tar, which Flux uses: GNU long name, then pax path, then header.
  return pending.longName ?? pending.pax?.get("path") ?? header.name;
}

function paxSize(pending: Pending, header: TarHeader): number {
  const text = pending.pax?.get("size");
  if (text === undefined) return header.size;
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text))) throw malformed(header.offset, `pax size "${text}" is not a valid size`);
  return Number(text);
}

function withMetadata(pending: Pending, header: TarHeader, body: Buffer): Pending {
  switch (header.type) {
    case "x": {
      if (pending.pax) throw malformed(header.offset, "two pax extended headers for one entry");
      const pax = paxRecords(body, header.offset);
      if ([...pax.keys()].some(k => k.startsWith("GNU.sparse."))) throw malformed(header.offset, "sparse files are not supported");
      return { ...pending, pax };
    }
    case "L": {
      if (pending.longName !== undefined) throw malformed(header.offset, "two GNU long names for one entry");
      const nul = body.indexOf(0);
      return { ...pending, longName: body.toString("utf8", 0, nul < 0 ? body.length : nul) };
    }
    // A global pax header (e.g. `git archive`'s commit comment) and a GNU long link name carry
    // nothing we use: links are refused anyway.
    default:
      return pending;
  }
}

const refusedTypes: Record<string, string> = {
  "1": "a hard link",
  "2": "a symbolic link",
  "3": "a character device",
  "4": "a block device",
  "6": "a FIFO",
  "7": "a contiguous file",
  S: "a GNU sparse file",
};

/** Accumulates entries and enforces names, types, duplicates and the caps. */
class Collector {
  /**
   * Every file, listed as soon as its header is in: its contents once read if kept (all are,
   * unless the reader was given a `keep`), else empty, so that a stage path naming a file not
   * kept is still told what it is.
   */
  readonly files: ArchiveFiles = new Map();
  /** Directories, explicit or implied by a deeper entry, so a file cannot also be a directory. */
  private readonly dirs = new Set<string>();
  private entries = 0;
  private total = 0;

  constructor(private readonly limits: ExtractLimits) {}

  checkCaps(name: string, size: number): void {
    const { maxEntries, maxFileBytes, maxExtractedBytes } = this.limits;
    if (++this.entries > maxEntries) throw refused(name, `the archive has more than ${maxEntries} entries (maxEntries)`);
    if (size > maxFileBytes) throw refused(name, `${formatBytes(size)} is over the per-file cap of ${formatBytes(maxFileBytes)} (maxFileBytes)`);
    this.total += size;
    if (this.total > maxExtractedBytes) {
      throw refused(name, `the extracted contents exceed the total cap of ${formatBytes(maxExtractedBytes)} (maxExtractedBytes)`);
    }
  }

  /** Checks an entry's name and type against what came before; the path of a file, undefined for a directory. */
  admit(header: TarHeader, rawName: string): string | undefined {
    const kind = entryKind(header, rawName);
    const path = normaliseEntryName(rawName, kind === "dir");
    if (path === "") return undefined; // the archive root, "./"
    this.checkParents(rawName, path);
    if (kind === "dir") {
      if (this.files.has(path)) throw refused(rawName, `directory "${path}" is also a file in the archive`);
      this.dirs.add(path);
      return undefined;
    }
    if (this.files.has(path)) throw refused(rawName, `duplicate entry: "${path}" appears more than once in the archive`);
    if (this.dirs.has(path)) throw refused(rawName, `file "${path}" is also a directory in the archive`);
    this.files.set(path, notKept);
    return path;
  }

  private checkParents(rawName: string, path: string): void {
    for (let slash = path.indexOf("/"); slash >= 0; slash = path.indexOf("/", slash + 1)) {
      const parent = path.slice(0, slash);
      if (this.files.has(parent)) throw refused(rawName, `its parent "${parent}" is a file in the archive`);
      this.dirs.add(parent);
    }
  }
}

function entryKind(header: TarHeader, rawName: string): "file" | "dir" {
  if (header.type === "0") return "file";
  if (header.type === "5") return "dir";
  // The old "\0" flag: Go reads it as a directory when the name ends in "/", else a file.
  if (header.type === "\0") return rawName.endsWith("/") ? "dir" : "file";
  const what = refusedTypes[header.type] ?? `an unsupported entry type (flag ${JSON.stringify(header.type)})`;
  throw refused(rawName, `it is ${what}; only regular files and directories are allowed`);
}

/**
 * `./a//b/` becomes `a/b`. Refuses empty names, absolute paths, backslashes, NUL and any `..`
 * segment (even one that would stay inside the root): none occurs in an archive Flux produces.
 */
export function normaliseEntryName(raw: string, isDir: boolean): string {
  if (raw === "") throw refused(raw, "the name is empty");
  if (raw.startsWith("/")) throw refused(raw, "absolute paths are not allowed");
  if (raw.includes("\\")) throw refused(raw, "backslashes are not allowed in names");
  if (raw.includes("\0")) throw refused(raw, "NUL is not allowed in names");
  const segments = raw.split("/").filter(s => s !== "" && s !== ".");
  if (segments.includes("..")) throw refused(raw, `".." segments are not allowed (path traversal)`);
  const path = segments.join("/");
  if (path === "" && !isDir) throw refused(raw, "a file entry needs a name");
  return path;
}

function refused(entry: string, detail: string): ArtifactError {
  return new ArtifactError(Reason.ArtifactExtractionFailed, `archive entry ${JSON.stringify(entry)}: ${detail}`);
}
