// Binaries of this machine carried into images: the binary itself and every shared library
// it loads (from ldd, the dynamic loader included), at the same paths, so it runs in an image
// that has nothing else.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The absolute paths of the shared libraries a binary loads, the dynamic loader included (none for a static one). */
export function sharedLibraries(binary: string): string[] {
  let out: string;
  try {
    out = execFileSync("ldd", [binary], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    if (`${(err as { stdout?: string }).stdout ?? ""}${(err as { stderr?: string }).stderr ?? ""}`.includes("not a dynamic executable")) return [];
    throw err;
  }
  return out.split("\n").flatMap(line => {
    const m = line.match(/(?:=>\s*)?(\/\S+)\s+\(0x/);
    return m ? [m[1]!] : [];
  }).sort();
}

/** Copies binary to `at` inside root, and its shared libraries to their own paths. */
export function copyHostBinary(root: string, binary: string, at: string): void {
  mkdirSync(join(root, dirname(at)), { recursive: true });
  cpSync(realpathSync(binary), join(root, at), { dereference: true });
  for (const lib of sharedLibraries(binary)) {
    mkdirSync(join(root, dirname(lib)), { recursive: true });
    cpSync(lib, join(root, lib), { dereference: true });
  }
}

/** What an image root that carries binary depends on, for its cache key: the binary and its libraries (path, size, mtime), and this copier. */
export function hostBinaryKey(binary: string): string {
  const stamp = (path: string) => {
    const real = realpathSync(path);
    const { size, mtimeMs } = statSync(real);
    return [real, size, mtimeMs];
  };
  return JSON.stringify({ binary: stamp(binary), libs: sharedLibraries(binary).map(stamp), copier: readFileSync(fileURLToPath(import.meta.url), "utf8") });
}
