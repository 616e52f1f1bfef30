// Tools that scripts fetch or build into a cache (the control plane, Helm, Prometheus, the
// Flagger and Argo clients): each script prints the path on its last line; a warm cache only
// hashes.
import { execFileSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Where the scripts and the image builders keep what they build (the scripts read the same variables). */
export const cacheRoot = process.env.STAGESET_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? "/root", ".cache"), "stageset");
const cached = new Map<string, string>();

export function scriptOutput(script: string): string {
  let out = cached.get(script);
  if (!out) {
    out = execFileSync("bash", [join(root, script)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim().split("\n").at(-1)!;
    cached.set(script, out);
  }
  return out;
}
