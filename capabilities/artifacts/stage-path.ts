// A stage's `path`: which directory of the artifact makes the stage. Resolved strictly inside
// the archive root; a path that escapes it, or names nothing, fails before anything is applied.
import { Reason, StageSetError } from "../api";
import type { ArchiveFiles } from "./untar";

/** The stage's `path` field cannot be used with this artifact. */
export class StagePathError extends StageSetError {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(Reason.ManifestInvalid, `path ${JSON.stringify(path)}: ${detail}`);
  }
}

/**
 * `./deploy/` and `deploy` become `deploy`; the root is "". A leading "/" means the artifact
 * root, as Flux resolves `spec.path` with securejoin. Unlike securejoin, `..` is refused rather
 * than clamped, so a typo cannot silently select a different directory.
 */
export function stageDirectory(path: string | undefined): string {
  const raw = path ?? "";
  if (raw.includes("\\")) throw new StagePathError(raw, "backslashes are not allowed; use / between directories");
  if (raw.includes("\0")) throw new StagePathError(raw, "NUL is not allowed");
  const segments = raw.split("/").filter(s => s !== "" && s !== ".");
  if (segments.includes("..")) throw new StagePathError(raw, `".." is not allowed; the path must stay inside the artifact`);
  return segments.join("/");
}

/**
 * The files under `dir` (recursively), sorted by path. A stage's path must be a directory;
 * an action's (`allowFile`) may also name one file.
 */
export function filesUnder(files: ArchiveFiles, dir: string, path: string, allowFile = false): [string, Buffer][] {
  const file = dir === "" ? undefined : files.get(dir);
  if (file && allowFile) return [[dir, file]];
  if (file) throw new StagePathError(path, "is a file in the artifact, not a directory");
  const prefix = dir === "" ? "" : `${dir}/`;
  const under = [...files].filter(([name]) => name.startsWith(prefix));
  if (dir !== "" && under.length === 0) throw new StagePathError(path, "no such directory in the artifact");
  // Code-unit order, not locale order: the same artifact must give the same apply order anywhere.
  return under.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
