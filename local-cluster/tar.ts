// A minimal ustar writer for the artifact server and the tests: packs entries (files, directories, and on purpose
// also links, devices and hostile names) into a tar, then gzip. Deterministic output.
import { gzipSync } from "node:zlib";

export type TarEntry =
  | { name: string; type?: "file"; body: string | Buffer; mode?: number }
  | { name: string; type: "dir" }
  | { name: string; type: "symlink" | "hardlink"; target: string }
  | { name: string; type: "chardev" | "fifo" };

const typeFlag = { file: "0", hardlink: "1", symlink: "2", chardev: "3", dir: "5", fifo: "6" } as const;

export function tarGz(entries: TarEntry[]): Buffer {
  return gzipSync(tar(entries));
}

export function tar(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? "file";
    const body = e.type === undefined || e.type === "file" ? Buffer.from(e.body) : Buffer.alloc(0);
    const target = e.type === "symlink" || e.type === "hardlink" ? e.target : "";
    const mode = type === "dir" ? 0o755 : e.type === "file" || e.type === undefined ? (e.mode ?? 0o644) : 0o644;
    blocks.push(header(e.name, body.length, mode, typeFlag[type], target));
    blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** The 512-byte header of a regular file of `size` bytes (for archives written piece by piece). */
export function fileHeader(name: string, size: number): Buffer {
  return header(name, size, 0o644, typeFlag.file, "");
}

function header(name: string, size: number, mode: number, flag: string, linkname: string): Buffer {
  const h = Buffer.alloc(512);
  const [prefix, base] = splitName(name);
  h.write(base, 0, 100, "utf8");
  octal(h, 100, 8, mode);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, 0);
  h.fill(" ", 148, 156);
  h.write(flag, 156, 1, "ascii");
  h.write(linkname, 157, 100, "utf8");
  h.write("ustar\u000000", 257, 8, "binary");
  h.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, "0") + "\u0000 ", 148, 8, "binary");
  return h;
}

function splitName(name: string): [string, string] {
  if (Buffer.byteLength(name) <= 100) return ["", name];
  const cut = name.lastIndexOf("/", name.length - 2);
  if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`tar name too long: ${name}`);
  return [name.slice(0, cut), name.slice(cut + 1)];
}

function octal(h: Buffer, offset: number, width: number, value: number): void {
  h.write(value.toString(8).padStart(width - 1, "0") + "\u0000", offset, width, "binary");
}
