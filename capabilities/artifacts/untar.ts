// Extraction policy: a tar.gz becomes an in-memory map of regular files, or a typed error.
// Only regular files and directories are allowed, and names must stay inside the archive root.
import { ArtifactError, Reason } from "../api";
import { gunzipArchive } from "./gunzip";
import { formatBytes, type ArtifactLimits } from "./limits";
import { BLOCK, isZeroBlock, malformed, paxRecords, readHeader, type TarHeader } from "./tar-format";

export type ExtractLimits = Pick<ArtifactLimits, "maxExtractedBytes" | "maxFileBytes" | "maxEntries">;

/** Path (normalised, no leading `./`) to content. Directories are implied by the file paths. */
export type ArchiveFiles = Map<string, Buffer>;

/** gunzip, then untar: the whole archive or an ArtifactExtractionFailed error. */
export function extractTarGz(bytes: Uint8Array, limits: ExtractLimits): ArchiveFiles {
  return extractTar(gunzipArchive(bytes, limits), limits);
}

// Go's archive/tar caps pax and GNU long-name bodies at 1 MiB (maxSpecialFileSize).
const maxMetadataBytes = 1024 * 1024;

/** Metadata that applies to the next real entry: pax `path`/`size`, or a GNU long name. */
interface Pending {
  pax?: Map<string, string>;
  longName?: string;
}

/**
 * Walks the tar stream. File contents are views into `tar`, not copies, so the map costs no
 * memory beyond the stream itself.
 */
export function extractTar(tar: Buffer, limits: ExtractLimits): ArchiveFiles {
  const out = new Collector(limits);
  let pending: Pending = {};
  let offset = 0;
  while (offset < tar.length) {
    if (tar.length - offset < BLOCK) throw malformed(offset, `truncated: only ${tar.length - offset} bytes left`);
    if (isZeroBlock(tar, offset)) {
      endOfArchive(tar, offset, pending);
      return out.files;
    }
    const header = readHeader(tar, offset);
    const metadata = isMetadata(header.type);
    const size = metadata ? header.size : paxSize(pending, header);
    const start = offset + BLOCK;
    if (metadata && size > maxMetadataBytes) throw malformed(offset, `extended header of ${size} bytes is over the 1 MiB limit`);
    if (!metadata) out.checkCaps(entryName(pending, header), size);
    if (start + size > tar.length) throw malformed(offset, `entry data is truncated (declares ${size} bytes, ${tar.length - start} remain)`);
    const body = tar.subarray(start, start + size);
    if (metadata) {
      pending = withMetadata(pending, header, body);
    } else {
      out.add(header, entryName(pending, header), body);
      pending = {};
    }
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  if (pending.pax || pending.longName !== undefined) throw malformed(offset, "archive ends after an extended header, before its entry");
  return out.files;
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

// After the first zero block only zero padding may follow; anything else would be entries that
// some tools read and others ignore.
function endOfArchive(tar: Buffer, offset: number, pending: Pending): void {
  if (pending.pax || pending.longName !== undefined) throw malformed(offset, "archive ends after an extended header, before its entry");
  for (let i = offset; i < tar.length; i++) {
    if (tar[i] !== 0) throw malformed(offset, `data follows the end-of-archive marker (at byte ${i})`);
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

  add(header: TarHeader, rawName: string, body: Buffer): void {
    const kind = entryKind(header, rawName);
    const path = normaliseEntryName(rawName, kind === "dir");
    if (path === "") return; // the archive root, "./"
    this.checkParents(rawName, path);
    if (kind === "dir") {
      if (this.files.has(path)) throw refused(rawName, `directory "${path}" is also a file in the archive`);
      this.dirs.add(path);
      return;
    }
    if (this.files.has(path)) throw refused(rawName, `duplicate entry: "${path}" appears more than once in the archive`);
    if (this.dirs.has(path)) throw refused(rawName, `file "${path}" is also a directory in the archive`);
    this.files.set(path, body);
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
