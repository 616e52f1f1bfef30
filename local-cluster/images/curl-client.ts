// A client image with curl, for calls a user makes from inside the cluster (`curl -fsS` at
// the gate, as a Flagger webhook or a Job would). curl is this machine's, with the libraries
// it loads; pause is the entrypoint, so the pod idles until a test runs `kubectl exec ...
// curl`. Built once per curl and pause binary, in the cache.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ImageSpec } from "../nodes";
import { copyHostBinary, hostBinaryKey } from "./host-binary";
import { cacheRoot, cachedPath } from "../tools";

export const curlClientImageName = "stageset.local/curl:1";

/** The image's spec; pause comes from the node binaries' directory. */
export function curlClientImage(nodeBinDir: string): ImageSpec {
  const curl = execFileSync("sh", ["-c", "command -v curl"], { encoding: "utf8" }).trim();
  if (!curl) throw new Error("curl is not installed on this machine (apt-get install curl)");
  const pause = join(nodeBinDir, "pause");
  const key = createHash("sha256")
    .update(hostBinaryKey(curl))
    .update(readFileSync(pause))
    .digest("hex")
    .slice(0, 16);
  const dir = cachedPath(join(cacheRoot, "curl-client", key, "root"), tmp => {
    copyHostBinary(tmp, curl, "usr/bin/curl");
    copyHostBinary(tmp, pause, "pause");
    mkdirSync(join(tmp, "tmp"));
  });
  return { name: curlClientImageName, dir, entrypoint: ["/pause"] };
}
