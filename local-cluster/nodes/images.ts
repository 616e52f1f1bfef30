// Images without a registry: each is built here from local files into a tarball (one layer,
// by k8s-node-agent image) and imported into every node's containerd, so no node ever pulls.
// A tarball is built once per machine: every input lives in a keyed cache directory.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { cacheRoot, cachedPath } from "../tools";
import { containerdSocket } from "./containerd";

export const images = {
  pause: "stageset.local/pause:1",
  echo: "stageset.local/echo-server:1",
  agent: "stageset.local/k8s-node-agent:1",
};

export interface ImageSpec {
  name: string;
  /** Directory that becomes the image's filesystem: a keyed cache directory, never changed once written (the tarball is cached by its path). */
  dir: string;
  entrypoint: string[];
  args?: string[];
  env?: string[];
  workdir?: string;
  /** Paths in the image (and everything below them) owned by "uid:gid" instead of root. */
  owners?: Record<string, string>;
}

/** The image's tarball, built by bin's k8s-node-agent unless the cache has it. */
export function buildImage(bin: string, spec: ImageSpec): string {
  const key = createHash("sha256").update(JSON.stringify({ bin, spec })).digest("hex").slice(0, 16);
  return cachedPath(join(cacheRoot, "images", `${key}.tar`), tmp => execFileSync(join(bin, "k8s-node-agent"), [
    "image", "-name", spec.name, "-dir", spec.dir, "-o", tmp,
    ...spec.entrypoint.flatMap(e => ["-entrypoint", e]),
    ...(spec.args ?? []).flatMap(a => ["-arg", a]),
    ...(spec.env ?? []).flatMap(e => ["-env", e]),
    ...(spec.workdir ? ["-workdir", spec.workdir] : []),
    ...Object.entries(spec.owners ?? {}).flatMap(([path, owner]) => ["-owner", `${path}=${owner}`]),
  ], { stdio: ["ignore", "pipe", "pipe"] }));
}

/** Imports an image tarball into a node's containerd, in the namespace the CRI uses. */
export function importImage(exec: (args: string[]) => string, bin: string, tar: string): void {
  exec([join(bin, "ctr"), "--address", containerdSocket, "-n", "k8s.io", "images", "import", "--snapshotter", "overlayfs", tar]);
}

/** pause (the sandbox), echo-server (tests) and the agent (cluster DNS), as tarballs. */
export function buildBaseImages(bin: string): string[] {
  const one = (name: string, binary: string, args: string[] = []) => {
    // bin is itself keyed (by the builds its links point to), so its name keys the roots.
    const root = cachedPath(join(cacheRoot, "image-roots", basename(dirname(bin)), binary), tmp => {
      mkdirSync(tmp);
      cpSync(join(bin, binary), join(tmp, binary), { dereference: true });
    });
    return buildImage(bin, { name, dir: root, entrypoint: [`/${binary}`], args });
  };
  return [one(images.pause, "pause"), one(images.echo, "echo-server", ["serve"]), one(images.agent, "k8s-node-agent")];
}
