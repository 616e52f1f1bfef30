// Caps on what one artifact may cost us: bytes on the wire, bytes and entries after extraction,
// and time. Every cap fails the stage with a typed error; none truncates silently.

export interface ArtifactLimits {
  /** Largest tar.gz we download, in bytes (checked against content-length and while reading). */
  maxDownloadBytes: number;
  /** Sum of the sizes of all extracted files, in bytes. */
  maxExtractedBytes: number;
  /** Largest single extracted file, in bytes. */
  maxFileBytes: number;
  /** Most file and directory entries in one archive. */
  maxEntries: number;
  /** Whole download, from connect to the last body byte, in milliseconds. */
  downloadTimeoutMs: number;
  /**
   * Most YAML nodes in one stage's manifests, as bounded before parsing (lines and the
   * characters , : [ { counted): parsing costs ~10 µs and ~1 KiB a node, on the thread that
   * also serves the gate.
   */
  maxManifestNodes: number;
}

const MiB = 1024 * 1024;

// 100 MiB extracted is Flux's `DefaultMaxUntarSize` (fluxcd/pkg tar/options.go); the others are
// ours. Flux's kustomize-controller lifts its caps entirely, which we do not copy.
export const defaultLimits: Readonly<ArtifactLimits> = Object.freeze({
  maxDownloadBytes: 50 * MiB,
  maxExtractedBytes: 100 * MiB,
  maxFileBytes: 10 * MiB,
  maxEntries: 10_000,
  downloadTimeoutMs: 60_000,
  maxManifestNodes: 50_000,
});

/** Tar framing allowed per entry on top of file contents: headers, padding, pax or GNU long names. */
const framingPerEntry = 4 * 1024;
/** GNU tar pads archives to 20-block records, so a little zero tail is normal. */
export const trailerAllowance = 20 * 512;

/**
 * The largest decompressed tar stream we accept. It bounds memory before the tar is parsed,
 * and it is loose enough that any archive within the file, total and entry caps fits under it.
 */
export function decompressedCap(limits: Pick<ArtifactLimits, "maxExtractedBytes" | "maxEntries">): number {
  return limits.maxExtractedBytes + limits.maxEntries * framingPerEntry + trailerAllowance;
}

/** `104857600 bytes (100 MiB)`: exact for the record, rounded for people. */
export function formatBytes(n: number): string {
  const units = ["KiB", "MiB", "GiB"];
  let value = n;
  let unit = "";
  for (const u of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  if (unit === "") return `${n} bytes`;
  const rounded = Number.isInteger(value) ? String(value) : value.toFixed(1);
  return `${n} bytes (${rounded} ${unit})`;
}
