// The tar format itself: decoding one 512-byte header (ustar, GNU or v7) with its checksum, and
// pax extended records. Policy (which entries are allowed) lives in untar.ts.
import { ArtifactError, Reason } from "../api";

export const BLOCK = 512;

export interface TarHeader {
  /** Offset of the header block in the tar stream, for messages. */
  offset: number;
  /** Name from the header, with the ustar prefix joined in. Pax or GNU long names override it. */
  name: string;
  size: number;
  /** The raw type flag; "\0" is the old spelling of a regular file. */
  type: string;
}

export function isZeroBlock(tar: Buffer, offset: number): boolean {
  for (let i = offset; i < offset + BLOCK; i++) if (tar[i] !== 0) return false;
  return true;
}

/**
 * Decodes the header block at `offset`; throws on a checksum mismatch or a malformed field.
 * `at` is where the block sits in the whole stream, for messages (a streaming reader passes the
 * block alone).
 */
export function readHeader(tar: Buffer, offset: number, at = offset): TarHeader {
  const block = tar.subarray(offset, offset + BLOCK);
  verifyChecksum(block, at);
  const magic = block.toString("latin1", 257, 263);
  // Only POSIX ustar has a prefix field; GNU keeps atime and ctime in those bytes.
  const prefix = magic === "ustar\0" ? cString(block, 345, 155) : "";
  const name = cString(block, 0, 100);
  return {
    offset: at,
    name: prefix ? `${prefix}/${name}` : name,
    size: numeric(block, 124, 12, at, "size"),
    type: String.fromCharCode(block[156] ?? 0),
  };
}

function verifyChecksum(block: Buffer, offset: number): void {
  const text = trimmedField(block, 148, 8);
  const stored = /^[0-7]+$/.test(text) ? parseInt(text, 8) : Number.NaN;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  // Some historic writers summed signed bytes; GNU tar and Go accept both.
  if (stored !== unsigned && stored !== signed) {
    const got = Number.isNaN(stored) ? `a checksum field of ${JSON.stringify(text)}` : `stored ${stored}, computed ${unsigned}`;
    throw malformed(offset, `checksum mismatch (${got}): the archive is corrupt or not a tar`);
  }
}

function cString(block: Buffer, start: number, width: number): string {
  const field = block.subarray(start, start + width);
  const nul = field.indexOf(0);
  return field.toString("utf8", 0, nul < 0 ? width : nul);
}

// Numbers are octal text, or base-256 (high bit set) for values too large for the field.
function numeric(block: Buffer, start: number, width: number, offset: number, field: string): number {
  const first = block[start] ?? 0;
  if (first & 0x80) {
    if (first === 0xff) throw malformed(offset, `negative ${field}`);
    let value = first & 0x7f;
    for (let i = start + 1; i < start + width; i++) {
      value = value * 256 + (block[i] ?? 0);
      if (value > Number.MAX_SAFE_INTEGER) throw malformed(offset, `${field} is too large`);
    }
    return value;
  }
  const text = trimmedField(block, start, width);
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw malformed(offset, `${field} field is not an octal number`);
  return parseInt(text, 8);
}

function trimmedField(block: Buffer, start: number, width: number): string {
  return block.toString("latin1", start, start + width).replace(/^[ \0]+|[ \0]+$/g, "");
}

/**
 * Parses pax extended header records, `"<length> <key>=<value>\n"`, where the length counts the
 * whole record (POSIX.1-2008, pax "Extended Header Format").
 */
export function paxRecords(body: Buffer, offset: number): Map<string, string> {
  const records = new Map<string, string>();
  let pos = 0;
  while (pos < body.length) {
    const space = body.indexOf(0x20, pos);
    const lengthText = space < 0 ? "" : body.toString("latin1", pos, space);
    const length = /^[1-9][0-9]*$/.test(lengthText) ? Number(lengthText) : Number.NaN;
    const end = pos + length;
    if (!Number.isSafeInteger(length) || end > body.length || body[end - 1] !== 0x0a) {
      throw malformed(offset, `malformed pax record at byte ${pos} of the extended header`);
    }
    const record = body.toString("utf8", space + 1, end - 1);
    const eq = record.indexOf("=");
    if (eq <= 0) throw malformed(offset, `malformed pax record at byte ${pos} of the extended header`);
    records.set(record.slice(0, eq), record.slice(eq + 1));
    pos = end;
  }
  return records;
}

export function malformed(offset: number, detail: string): ArtifactError {
  return new ArtifactError(Reason.ArtifactExtractionFailed, `tar header at offset ${offset}: ${detail}`);
}
