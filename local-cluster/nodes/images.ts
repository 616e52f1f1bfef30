// Images without a registry: each is built here from local files into a tarball (one layer,
// by k8s-node-agent image) and imported into every node's containerd, so no node ever pulls.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { containerdSocket } from "./containerd";

export const images = {
  pause: "stageset.local/pause:1",
  echo: "stageset.local/echo-server:1",
  agent: "stageset.local/k8s-node-agent:1",
};

export interface ImageSpec {
  name: string;
  /** Directory that becomes the image's filesystem. */
  dir: string;
  entrypoint: string[];
  args?: string[];
  env?: string[];
  workdir?: string;
  /** Paths in the image (and everything below them) owned by "uid:gid" instead of root. */
  owners?: Record<string, string>;
}

export function buildImage(bin: string, imageDir: string, spec: ImageSpec): string {
  mkdirSync(imageDir, { recursive: true });
  const tar = join(imageDir, `${spec.name.replace(/[^a-zA-Z0-9.-]/g, "_")}.tar`);
  execFileSync(join(bin, "k8s-node-agent"), [
    "image", "-name", spec.name, "-dir", spec.dir, "-o", tar,
    ...spec.entrypoint.flatMap(e => ["-entrypoint", e]),
    ...(spec.args ?? []).flatMap(a => ["-arg", a]),
    ...(spec.env ?? []).flatMap(e => ["-env", e]),
    ...(spec.workdir ? ["-workdir", spec.workdir] : []),
    ...Object.entries(spec.owners ?? {}).flatMap(([path, owner]) => ["-owner", `${path}=${owner}`]),
  ], { stdio: ["ignore", "pipe", "pipe"] });
  return tar;
}

/** Imports an image tarball into a node's containerd, in the namespace the CRI uses. */
export function importImage(exec: (args: string[]) => string, bin: string, tar: string): void {
  exec([join(bin, "ctr"), "--address", containerdSocket, "-n", "k8s.io", "images", "import", "--snapshotter", "overlayfs", tar]);
}

/** pause (the sandbox), echo-server (tests) and the agent (cluster DNS), as tarballs. */
export function buildBaseImages(bin: string, imageDir: string): string[] {
  const one = (name: string, binary: string, args: string[] = []) => {
    const root = join(imageDir, `${binary}-root`);
    mkdirSync(root, { recursive: true });
    execFileSync("cp", ["-L", join(bin, binary), join(root, binary)]);
    return buildImage(bin, imageDir, { name, dir: root, entrypoint: [`/${binary}`], args });
  };
  return [one(images.pause, "pause"), one(images.echo, "echo-server", ["serve"]), one(images.agent, "k8s-node-agent")];
}
