// Tools that scripts fetch or build into a cache (the control plane, Helm, Prometheus, the
// Flagger and Argo clients): each script prints the path on its last line; a warm cache only
// hashes.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Where the scripts and the image builders keep what they build (the scripts read the same variables, an empty one as unset). */
export const cacheRoot = process.env.STAGESET_CACHE || join(process.env.XDG_CACHE_HOME || join(process.env.HOME || "/root", ".cache"), "stageset");

/**
 * path (a file or a directory) in the cache, made once: fill writes it at a temporary path
 * beside it, which is then renamed into place, so a reader never sees half of it. path must be
 * keyed by everything fill reads that can change here. When two processes fill it at once,
 * one copy stays (they are alike).
 */
export function cachedPath(path: string, fill: (tmp: string) => void): string {
  if (existsSync(path)) return path;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp.${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    fill(tmp);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(path)) throw err;
  }
  return path;
}

const cached = new Map<string, string>();

export function scriptOutput(script: string): string {
  let out = cached.get(script);
  if (!out) {
    out = execFileSync("bash", [join(root, script)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim().split("\n").at(-1)!;
    if (!out.startsWith("/")) throw new Error(`${script} printed no directory (is STAGESET_GO_FETCH_ONLY set?)`);
    cached.set(script, out);
  }
  return out;
}
