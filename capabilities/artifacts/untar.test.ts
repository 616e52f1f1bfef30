// Extraction: what a hostile or broken archive must never get past, and the tar dialects
// (ustar prefix, pax, GNU long names) that real producers write.
import { createGzip, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { tar, tarGz, type TarEntry } from "../../local-cluster/tar";
import { ArtifactError, Reason } from "../api";
import { extractTarGz, extractTarGzAsync, type ExtractLimits } from "./index";
import { TarReader } from "./untar";

const limits: ExtractLimits = { maxExtractedBytes: 1024 * 1024, maxFileBytes: 64 * 1024, maxEntries: 20 };
const MiB = 1024 * 1024;

/** One raw header block, for entry types and dialects the harness writer does not produce. */
function header(name: string, type: string, size: number, magic: "posix" | "gnu" = "posix"): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, "utf8");
  h.write("0000644\0", 100, "latin1");
  h.write(`${size.toString(8).padStart(11, "0")}\0`, 124, "latin1");
  h.fill(" ", 148, 156);
  h.write(type, 156, 1, "latin1");
  h.write(magic === "posix" ? "ustar\u000000" : "ustar  \0", 257, 8, "latin1");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "latin1");
  return h;
}

function entry(name: string, type: string, body: string | Buffer = "", magic: "posix" | "gnu" = "posix"): Buffer {
  const data = Buffer.from(body);
  return Buffer.concat([header(name, type, data.length, magic), data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

function paxBody(records: Record<string, string>): string {
  return Object.entries(records)
    .map(([k, v]) => {
      const rest = ` ${k}=${v}\n`;
      let n = rest.length + 1;
      while (String(n).length + rest.length !== n) n++;
      return `${n}${rest}`;
    })
    .join("");
}

const end = Buffer.alloc(1024);
const gz = (...parts: Buffer[]) => gzipSync(Buffer.concat(parts));
/** The tar of `entries` without its end-of-archive blocks, to append raw entries after it. */
const open = (entries: TarEntry[]) => tar(entries).subarray(0, -1024);
const longDir = "d".repeat(150);
const longName = `${"x".repeat(120)}/${"y".repeat(130)}.yaml`;

// A file of zeros inside a tar, gzipped as a stream so the test never holds the whole file.
async function bomb(mib = 200): Promise<Buffer> {
  const gzip = createGzip();
  const chunks: Buffer[] = [];
  gzip.on("data", (c: Buffer) => chunks.push(c));
  const done = new Promise(resolve => gzip.on("end", resolve));
  gzip.write(header("zeros.yaml", "0", mib * MiB));
  const zeros = Buffer.alloc(MiB);
  for (let i = 0; i < mib; i++) if (!gzip.write(zeros)) await new Promise(resolve => gzip.once("drain", resolve));
  gzip.end(end);
  await done;
  return Buffer.concat(chunks);
}

describe("extractTarGz accepts", () => {
  it.each([
    { name: "files and directories", archive: () => tarGz([{ name: "deploy", type: "dir" }, { name: "deploy/a.yaml", body: "a" }, { name: "b.yaml", body: "b" }]), files: { "deploy/a.yaml": "a", "b.yaml": "b" } },
    { name: "./ prefixes and a root entry, normalised", archive: () => tarGz([{ name: "./", type: "dir" }, { name: "./deploy/", type: "dir" }, { name: "./deploy//a.yaml", body: "a" }]), files: { "deploy/a.yaml": "a" } },
    { name: "a long name split into the ustar prefix", archive: () => tarGz([{ name: `${longDir}/app.yaml`, body: "long" }]), files: { [`${longDir}/app.yaml`]: "long" } },
    { name: "a pax path (over 255 characters)", archive: () => gz(entry("PaxHeaders/x", "x", paxBody({ path: longName, mtime: "0" })), entry("short", "0", "pax"), end), files: { [longName]: "pax" } },
    { name: "a pax size overriding the header", archive: () => gz(entry("PaxHeaders/x", "x", paxBody({ size: "3" })), header("s.yaml", "0", 0), Buffer.from("abc".padEnd(512, "\0")), end), files: { "s.yaml": "abc" } },
    { name: "a GNU long name", archive: () => gz(entry("././@LongLink", "L", `${longName}\0`, "gnu"), entry(longName.slice(0, 99), "0", "gnu", "gnu"), end), files: { [longName]: "gnu" } },
    { name: "a global pax header (git archive)", archive: () => gz(entry("pax_global_header", "g", paxBody({ comment: "abc123" })), entry("a.yaml", "0", "a"), end), files: { "a.yaml": "a" } },
    { name: "the old NUL type flag", archive: () => gz(entry("dir/", "\0"), entry("dir/a.yaml", "\0", "a"), end), files: { "dir/a.yaml": "a" } },
    { name: "a repeated directory", archive: () => tarGz([{ name: "d/", type: "dir" }, { name: "d/", type: "dir" }, { name: "d/a.yaml", body: "a" }]), files: { "d/a.yaml": "a" } },
    { name: "an empty archive", archive: () => tarGz([]), files: {} },
    { name: "GNU tar's zero padding after the end marker", archive: () => gz(open([{ name: "a.yaml", body: "a" }]), Buffer.alloc(10240)), files: { "a.yaml": "a" } },
  ])("$name", ({ archive, files }) => {
    const got = extractTarGz(archive(), limits);
    expect(Object.fromEntries([...got].map(([k, v]) => [k, v.toString()]))).toEqual(files);
  });
});

describe("extractTarGz refuses", () => {
  it.each([
    { name: "not gzip at all", archive: () => Buffer.from("apiVersion: v1\nkind: ConfigMap\n"), message: /not gzip-compressed \(it starts with 0x61 0x70/ },
    { name: "an empty download", archive: () => Buffer.alloc(0), message: /not gzip-compressed \(it starts with nothing\)/ },
    { name: "truncated gzip", archive: () => tarGz([{ name: "a.yaml", body: "x".repeat(5000) }]).subarray(0, 40), message: /gzip stream is truncated/ },
    { name: "corrupt gzip (bad CRC)", archive: () => flip(tarGz([{ name: "a.yaml", body: "a" }]), -6), message: /gzip stream is corrupt \(incorrect data check\)/ },
    { name: "a decompression bomb", archive: () => bomb(), message: /decompressed archive exceeds the cap of 1140736 bytes \(1\.1 MiB\)/ },
    { name: "path traversal ../x.yaml", archive: () => tarGz([{ name: "../x.yaml", body: "x" }]), message: /entry "\.\.\/x\.yaml": "\.\." segments are not allowed/ },
    { name: "traversal inside a path", archive: () => tarGz([{ name: "deploy/../../x.yaml", body: "x" }]), message: /entry "deploy\/\.\.\/\.\.\/x\.yaml": "\.\."/ },
    { name: "traversal in a pax path", archive: () => gz(entry("PaxHeaders/x", "x", paxBody({ path: "../../etc/cron.d/x" })), entry("ok.yaml", "0", "x"), end), message: /entry "\.\.\/\.\.\/etc\/cron\.d\/x": "\.\."/ },
    { name: "traversal in a GNU long name", archive: () => gz(entry("././@LongLink", "L", "../evil.yaml\0", "gnu"), entry("ok.yaml", "0", "x", "gnu"), end), message: /entry "\.\.\/evil\.yaml"/ },
    { name: "an absolute path", archive: () => tarGz([{ name: "/etc/x", body: "x" }]), message: /entry "\/etc\/x": absolute paths are not allowed/ },
    { name: "a backslash", archive: () => tarGz([{ name: "..\\x.yaml", body: "x" }]), message: /entry "\.\.\\\\x\.yaml": backslashes are not allowed/ },
    { name: "an empty name", archive: () => gz(entry("", "0", "x"), end), message: /entry "": the name is empty/ },
    { name: "a file named ./", archive: () => gz(entry("./", "0", "x"), end), message: /entry "\.\/": a file entry needs a name/ },
    { name: "a symlink", archive: () => tarGz([{ name: "link.yaml", type: "symlink", target: "/etc/passwd" }]), message: /entry "link\.yaml": it is a symbolic link; only regular files and directories/ },
    { name: "a hardlink", archive: () => tarGz([{ name: "a.yaml", body: "a" }, { name: "hard.yaml", type: "hardlink", target: "a.yaml" }]), message: /entry "hard\.yaml": it is a hard link/ },
    { name: "a character device", archive: () => tarGz([{ name: "dev/null", type: "chardev" }]), message: /entry "dev\/null": it is a character device/ },
    { name: "a block device", archive: () => gz(entry("dev/sda", "4"), end), message: /entry "dev\/sda": it is a block device/ },
    { name: "a FIFO", archive: () => tarGz([{ name: "pipe", type: "fifo" }]), message: /entry "pipe": it is a FIFO/ },
    { name: "an unknown type flag", archive: () => gz(entry("v", "V"), end), message: /entry "v": it is an unsupported entry type \(flag "V"\)/ },
    { name: "a pax sparse file", archive: () => gz(entry("PaxHeaders/x", "x", paxBody({ "GNU.sparse.major": "1" })), entry("s.yaml", "0", "x"), end), message: /tar header at offset 0: sparse files are not supported/ },
    { name: "a duplicate file", archive: () => tarGz([{ name: "a.yaml", body: "1" }, { name: "./a.yaml", body: "2" }]), message: /entry "\.\/a\.yaml": duplicate entry: "a\.yaml" appears more than once/ },
    { name: "a file that is also a directory", archive: () => tarGz([{ name: "a", body: "1" }, { name: "a/b.yaml", body: "2" }]), message: /entry "a\/b\.yaml": its parent "a" is a file/ },
    { name: "a directory that is also a file", archive: () => tarGz([{ name: "a/b.yaml", body: "1" }, { name: "a", body: "2" }]), message: /entry "a": file "a" is also a directory/ },
    { name: "a file over the per-file cap", archive: () => tarGz([{ name: "big.yaml", body: Buffer.alloc(64 * 1024 + 1) }]), message: /entry "big\.yaml": 65537 bytes \(64\.0 KiB\) is over the per-file cap of 65536 bytes \(64 KiB\)/ },
    { name: "files over the total cap", archive: () => tarGz(Array.from({ length: 17 }, (_, i) => ({ name: `f${i}.yaml`, body: Buffer.alloc(64 * 1024) }))), message: /entry "f16\.yaml": the extracted contents exceed the total cap of 1048576 bytes \(1 MiB\)/ },
    { name: "too many entries", archive: () => tarGz(Array.from({ length: 21 }, (_, i) => ({ name: `f${i}.yaml`, body: "x" }))), message: /entry "f20\.yaml": the archive has more than 20 entries/ },
    { name: "a corrupt header checksum", archive: () => gzipSync(flip(tar([{ name: "a.yaml", body: "a" }]), 3)), message: /tar header at offset 0: checksum mismatch .* corrupt or not a tar/ },
    { name: "a gzipped file that is not a tar", archive: () => gzipSync(Buffer.from("kind: ConfigMap\n".repeat(64))), message: /tar header at offset 0: checksum mismatch/ },
    { name: "truncated entry data", archive: () => gzipSync(tar([{ name: "a.yaml", body: "x".repeat(2000) }]).subarray(0, 1024)), message: /tar header at offset 0: entry data is truncated \(declares 2000 bytes, 512 remain\)/ },
    { name: "a partial header block", archive: () => gzipSync(Buffer.concat([open([{ name: "a.yaml", body: "a" }]), Buffer.alloc(100, 1)])), message: /tar header at offset 1024: truncated: only 100 bytes left/ },
    { name: "entries hidden after the end marker", archive: () => gz(open([{ name: "a.yaml", body: "a" }]), Buffer.alloc(512), open([{ name: "hidden.yaml", body: "h" }])), message: /tar header at offset 1024: data follows the end-of-archive marker/ },
    { name: "a pax header with no entry after it", archive: () => gz(entry("PaxHeaders/x", "x", paxBody({ path: "a.yaml" })), end), message: /archive ends after an extended header, before its entry/ },
    { name: "a malformed pax record", archive: () => gz(entry("PaxHeaders/x", "x", "99 path=a\n"), entry("a", "0"), end), message: /tar header at offset 0: malformed pax record at byte 0/ },
  ])("$name", async ({ archive, message }) => {
    const bytes = await archive();
    const err = capture(() => extractTarGz(bytes, limits));
    expect(err).toBeInstanceOf(ArtifactError);
    expect(err.reason).toBe(Reason.ArtifactExtractionFailed);
    expect(err.message).toMatch(message);
  }, 30_000); // building the bomb takes a while on a loaded machine
});

describe("extractTarGzAsync", () => {
  const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as ArtifactError);

  // Each shape is refused while it inflates, within a few blocks of where it gives itself
  // away: none gets anywhere near the cap (1140736 bytes here).
  it.each([
    { name: "zeros with no tar header at all", archive: () => gzipSync(Buffer.alloc(8 * MiB)), message: "more than 10240 bytes (10 KiB) of data after the end of the tar archive at byte 0; refusing a possible decompression bomb" },
    { name: "entries under the file cap that add up past the total cap", archive: () => tarGz(Array.from({ length: 18 }, (_, i) => ({ name: `f${i}.yaml`, body: Buffer.alloc(60 * 1024) }))), message: 'archive entry "f17.yaml": the extracted contents exceed the total cap of 1048576 bytes (1 MiB) (maxExtractedBytes)' },
    { name: "a GNU long-name entry that declares 200 MiB", archive: () => gz(header("././@LongLink", "L", 200 * MiB, "gnu"), Buffer.alloc(MiB)), message: "tar header at offset 0: extended header of 209715200 bytes is over the 1 MiB limit" },
    { name: "a pax size of 200 MiB for a header of 0", archive: () => gz(entry("PaxHeaders/x", "x", paxBody({ size: String(200 * MiB) })), header("s.yaml", "0", 0), Buffer.alloc(MiB)), message: 'archive entry "s.yaml": 209715200 bytes (200 MiB) is over the per-file cap of 65536 bytes (64 KiB) (maxFileBytes)' },
    { name: "gzipped text that is not a tar", archive: () => gzipSync(Buffer.from("kind: ConfigMap\n".repeat(64 * 1024))), message: /^tar header at offset 0: checksum mismatch .*: the archive is corrupt or not a tar$/ },
  ])("refuses $name while inflating", async ({ archive, message }) => {
    const err = await refusal(extractTarGzAsync(archive(), limits));
    expect(err).toBeInstanceOf(ArtifactError);
    expect(err?.reason).toBe(Reason.ArtifactExtractionFailed);
    expect(err?.message).toMatch(typeof message === "string" ? new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`) : message);
  });

  it("reads a pax size as the sync form does: a 20 KiB file whose header says 0", async () => {
    const body = Buffer.alloc(20 * 1024, "a");
    const archive = gz(entry("PaxHeaders/x", "x", paxBody({ size: String(body.length) })), header("s.yaml", "0", 0), body, end);
    expect((await extractTarGzAsync(archive, limits)).get("s.yaml")?.equals(body)).toBe(true);
    expect(extractTarGz(archive, limits).get("s.yaml")?.equals(body)).toBe(true);
  });

  it("refuses a bomb whose one entry declares more than maxFileBytes as soon as its header is in", async () => {
    const err = await refusal(extractTarGzAsync(await bomb(200), limits));
    expect(err?.reason).toBe(Reason.ArtifactExtractionFailed);
    expect(err?.message).toBe('archive entry "zeros.yaml": 209715200 bytes (200 MiB) is over the per-file cap of 65536 bytes (64 KiB) (maxFileBytes)');
  });

  it("returns the same files as the sync form, in chunks of any size", async () => {
    const entries = [{ name: "deploy", type: "dir" as const }, { name: "deploy/a.yaml", body: "a".repeat(1500) }, { name: "b.yaml", body: "b" }];
    const want = extractTarGz(tarGz(entries), limits);
    expect(await extractTarGzAsync(tarGz(entries), limits)).toEqual(want);
    const whole = tar(entries);
    for (const size of [1, 7, 511, 512, 513, 4096]) {
      const reader = extractTarInChunks(whole, size);
      expect(reader, `chunks of ${size}`).toEqual(want);
    }
  });

  it("keeps only the files it is asked to, listing the rest empty", async () => {
    const files = await extractTarGzAsync(tarGz([{ name: "a.yaml", body: "a" }, { name: "blob.bin", body: Buffer.alloc(60 * 1024, 1) }]), limits, p => p.endsWith(".yaml"));
    expect(files.get("a.yaml")?.toString()).toBe("a");
    expect(files.get("blob.bin")?.length).toBe(0);
  });
});

/** The tar read in chunks of `size` bytes, as zlib hands them over. */
function extractTarInChunks(whole: Buffer, size: number) {
  const reader = new TarReader(limits);
  for (let at = 0; at < whole.length; at += size) reader.write(whole.subarray(at, at + size));
  return reader.finish();
}

function flip(bytes: Buffer, at: number): Buffer {
  const out = Buffer.from(bytes);
  const i = at < 0 ? out.length + at : at;
  out[i] = (out[i] ?? 0) ^ 0xff;
  return out;
}

function capture(fn: () => unknown): ArtifactError {
  try {
    fn();
  } catch (err) {
    return err as ArtifactError;
  }
  throw new Error("expected an error, got a result");
}
