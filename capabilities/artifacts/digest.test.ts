// Verification: the digest is over the exact tar.gz bytes, spelled as go-digest spells it.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ArtifactError, Reason } from "../api";
import { verifyArtifact } from "./index";

const bytes = Buffer.from("the exact bytes of a tar.gz");
const hex = (algorithm: string, data: Buffer = bytes) => createHash(algorithm).update(data).digest("hex");

describe("verifyArtifact accepts", () => {
  it.each([
    { name: "sha256", digest: `sha256:${hex("sha256")}`, size: undefined },
    { name: "sha384", digest: `sha384:${hex("sha384")}`, size: undefined },
    { name: "sha512", digest: `sha512:${hex("sha512")}`, size: undefined },
    { name: "bare hex, read as sha256 like Flux", digest: hex("sha256"), size: undefined },
    { name: "a matching published size", digest: `sha256:${hex("sha256")}`, size: bytes.length },
  ])("$name", ({ digest, size }) => {
    expect(() => verifyArtifact(bytes, { digest, size })).not.toThrow();
  });
});

describe("verifyArtifact refuses", () => {
  const other = Buffer.from("different bytes");
  it.each([
    { name: "a sha256 mismatch", digest: `sha256:${hex("sha256", other)}`, size: undefined, message: `artifact digest mismatch: expected sha256:${hex("sha256", other)}, the bytes downloaded hash to sha256:${hex("sha256").slice(0, 12)}...` },
    { name: "a sha512 mismatch", digest: `sha512:${hex("sha512", other)}`, size: undefined, message: `expected sha512:${hex("sha512", other)}, the bytes downloaded hash to sha512:${hex("sha512").slice(0, 12)}...` },
    { name: "a bare hex mismatch", digest: hex("sha256", other), size: undefined, message: `expected sha256:${hex("sha256", other)}, the bytes downloaded hash to sha256:${hex("sha256").slice(0, 12)}...` },
    { name: "an unsupported algorithm", digest: `blake3:${"a".repeat(64)}`, size: undefined, message: `unsupported digest algorithm "blake3" in "blake3:${"a".repeat(64)}" (supported: sha256, sha384, sha512)` },
    { name: "md5", digest: `md5:${hex("md5")}`, size: undefined, message: `unsupported digest algorithm "md5"` },
    { name: "uppercase hex", digest: `sha256:${hex("sha256").toUpperCase()}`, size: undefined, message: "sha256 needs exactly 64 lowercase hex characters" },
    { name: "hex of the wrong length", digest: `sha384:${hex("sha256")}`, size: undefined, message: "sha384 needs exactly 96 lowercase hex characters" },
    { name: "an empty digest", digest: "", size: undefined, message: "the artifact publishes no digest" },
    { name: "a size mismatch", digest: `sha256:${hex("sha256")}`, size: bytes.length + 1, message: `artifact size mismatch: expected ${bytes.length + 1} bytes, the download was shorter` },
    { name: "a download longer than published", digest: `sha256:${hex("sha256")}`, size: bytes.length - 1, message: `artifact size mismatch: expected ${bytes.length - 1} bytes, the download was longer` },
  ])("$name", ({ digest, size, message }) => {
    let err: unknown;
    try {
      verifyArtifact(bytes, { digest, size });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ArtifactError);
    expect((err as ArtifactError).reason).toBe(Reason.ArtifactVerificationFailed);
    expect((err as ArtifactError).message).toContain(message);
  });
});
