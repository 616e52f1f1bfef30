// The Pepr controller image, under the exact name Pepr's generated manifests reference,
// built from local files instead of pulled. It follows the upstream image's layout
// (defenseunicorns/pepr, Dockerfile at v1.1.4): WORKDIR /app, /app/node_modules holding
// pepr and its production dependencies (peer dependencies left out, ws added), /app
// writable by uid 65532 (the controller writes the unpacked module there), node as the
// entrypoint (the manifests pass /app/node_modules/pepr/dist/controller.js and the module's
// hash as arguments). The module arrives through a Secret mounted at /app/load.
// Node is this machine's Node 20 binary plus the shared libraries it links (from ldd).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ImageSpec } from "../nodes";
import { copyHostBinary, hostBinaryKey } from "./host-binary";
import { cacheRoot, cachedPath } from "../tools";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The versions the image carries: the ones this repository installs. */
function versions(): { pepr: string; ws: string } {
  const v = (pkg: string) => (JSON.parse(readFileSync(join(root, "node_modules", pkg, "package.json"), "utf8")) as { version: string }).version;
  return { pepr: v("pepr"), ws: v("ws") };
}

export function peprControllerImageName(): string {
  return `ghcr.io/defenseunicorns/pepr/controller:v${versions().pepr}`;
}

/** Builds (or finds in the cache) the image's root filesystem and returns the image to build from it. */
export function peprControllerImage(): ImageSpec {
  const v = versions();
  if (!process.version.startsWith("v20.")) throw new Error(`the controller image carries this machine's Node, which is ${process.version}, not 20`);
  // pepr's own dependencies are resolved by npm when the root is first made, and kept until
  // this key changes (as an image pulled once is).
  const key = createHash("sha256")
    .update(JSON.stringify({ v, node: hostBinaryKey(process.execPath), self: readFileSync(fileURLToPath(import.meta.url), "utf8") }))
    .digest("hex")
    .slice(0, 16);
  const dir = cachedPath(join(cacheRoot, "pepr-controller", key, "root"), tmp => buildRoot(tmp, v));
  return {
    name: peprControllerImageName(),
    dir,
    entrypoint: ["/usr/local/bin/node"],
    workdir: "/app",
    env: ["NODE_ENV=production"],
    owners: { "/app": "65532:65532" },
  };
}

function buildRoot(tmp: string, v: { pepr: string; ws: string }): void {
  copyHostBinary(tmp, process.execPath, "usr/local/bin/node");
  mkdirSync(join(tmp, "etc"));
  writeFileSync(join(tmp, "etc/passwd"), "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/app:/sbin/nologin\n");
  writeFileSync(join(tmp, "etc/group"), "root:x:0:\nnonroot:x:65532:\n");
  mkdirSync(join(tmp, "tmp"));
  chmodSync(join(tmp, "tmp"), 0o1777);
  installNodeModules(join(tmp, "app"), v);
}

// Unused at run time and large; the upstream image removes the same kind of packages.
const pruned = ["esbuild", "@esbuild", "ts-morph", "@ts-morph", "typescript", "quicktype-core", "@glideapps", "commander", "heredoc", "@types"];

function installNodeModules(app: string, v: { pepr: string; ws: string }): void {
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "pepr-controller", private: true, dependencies: { pepr: v.pepr, ws: v.ws } }));
  execFileSync("npm", ["install", "--omit=dev", "--omit=peer", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", "--no-package-lock"], {
    cwd: app,
    stdio: ["ignore", "pipe", "pipe"],
  });
  rmSync(join(app, "package.json"));
  for (const p of pruned) rmSync(join(app, "node_modules", p), { recursive: true, force: true });
  if (!existsSync(join(app, "node_modules/pepr/dist/controller.js"))) throw new Error("pepr's controller.js is missing from the installed package");
}
