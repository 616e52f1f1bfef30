// Verification of a downloaded artifact against what its producer published: the digest over
// the exact tar.gz bytes and, when present, the size. Pure: bytes in, a verdict or an error out.
import { createHash } from "node:crypto";
import { ArtifactError, Reason, type Artifact } from "../api";

// Hex lengths as go-digest validates them (opencontainers/go-digest algorithm.go). Flux also
// accepts blake3, which Node's crypto does not provide; such a digest is refused, not skipped.
const hexLength: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

interface ParsedDigest {
  algorithm: string;
  hex: string;
}

/** Parses `<algorithm>:<hex>`; a bare hex is sha256, as Flux's archive fetcher assumes. */
export function parseDigest(digest: string): ParsedDigest {
  if (!digest) throw failed("the artifact publishes no digest, so its bytes cannot be verified");
  const colon = digest.indexOf(":");
  const algorithm = colon < 0 ? "sha256" : digest.slice(0, colon);
  const hex = colon < 0 ? digest : digest.slice(colon + 1);
  const want = hexLength[algorithm];
  if (want === undefined) {
    throw failed(`unsupported digest algorithm "${algorithm}" in "${digest}" (supported: ${Object.keys(hexLength).join(", ")})`);
  }
  if (hex.length !== want || !/^[a-f0-9]+$/.test(hex)) {
    throw failed(`malformed digest "${digest}": ${algorithm} needs exactly ${want} lowercase hex characters`);
  }
  return { algorithm, hex };
}

/**
 * Throws unless `bytes` hash to `digest`. The message gives the expected digest and only the
 * start of the one computed: whoever can point a source at a URL must not learn the exact
 * digest (or size) of what some other address serves, and then publish it as their own.
 */
export function verifyDigest(bytes: Uint8Array, digest: string): void {
  const { algorithm, hex } = parseDigest(digest);
  const got = createHash(algorithm).update(bytes).digest("hex");
  if (got !== hex) {
    throw failed(`artifact digest mismatch: expected ${algorithm}:${hex}, the bytes downloaded hash to ${algorithm}:${got.slice(0, 12)}...`);
  }
}

/** Throws when the artifact publishes a size and the bytes differ from it (without saying by how much). */
export function verifySize(bytes: Uint8Array, size: number | undefined): void {
  if (size === undefined) return;
  if (bytes.length !== size) {
    throw failed(`artifact size mismatch: expected ${size} bytes, the download ${bytes.length < size ? "was shorter" : "was longer"}`);
  }
}

/** Size first (cheap, and the clearer message when a download was cut short), then digest. */
export function verifyArtifact(bytes: Uint8Array, artifact: Pick<Artifact, "digest" | "size">): void {
  verifySize(bytes, artifact.size);
  verifyDigest(bytes, artifact.digest);
}

function failed(message: string): ArtifactError {
  return new ArtifactError(Reason.ArtifactVerificationFailed, message);
}
