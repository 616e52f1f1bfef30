#!/usr/bin/env node
// The `stageset` command (and `kubectl stageset`, installed as kubectl-stageset on the PATH).
// It runs cli/main.ts bundled into one plain JavaScript file (esbuild, cached under
// node_modules/.cache and rebuilt when any file it was built from changes): loading the
// TypeScript sources one by one through tsx took ~2.7 s before any command ran, the bundle
// ~0.6 s. Where the bundle cannot be built (no esbuild, a read-only install), it runs the
// sources through tsx as before.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const cacheDir = join(root, "node_modules/.cache/stageset-cli");

/** The bundle, built unless the one cached was built from exactly the files there are now. */
function bundled() {
  const out = join(cacheDir, "cli.cjs");
  const inputsFile = join(cacheDir, "inputs.json");
  const stamp = file => {
    const s = statSync(join(root, file));
    return `${s.size}:${s.mtimeMs}`;
  };
  try {
    const inputs = JSON.parse(readFileSync(inputsFile, "utf8"));
    if (Object.entries(inputs).every(([file, was]) => stamp(file) === was)) return out;
  } catch {
    // not built yet, or a file it was built from is gone: build
  }
  const esbuild = require("esbuild");
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${out}.${process.pid}`;
  const result = esbuild.buildSync({
    absWorkingDir: root,
    entryPoints: ["cli/main.ts"],
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    outfile: tmp,
    metafile: true,
    logLevel: "silent",
    // The one module of the CLI that finds files beside itself (the browser view's page).
    define: { "import.meta.url": JSON.stringify(pathToFileURL(join(root, "cli/ui/server.ts")).href) },
  });
  renameSync(tmp, out);
  const inputs = Object.fromEntries(Object.keys(result.metafile.inputs).map(file => [file, stamp(file)]));
  writeFileSync(`${inputsFile}.${process.pid}`, JSON.stringify(inputs));
  renameSync(`${inputsFile}.${process.pid}`, inputsFile);
  return out;
}

async function loadMain() {
  try {
    return require(bundled()).main;
  } catch (err) {
    if (process.env.STAGESET_CLI_DEBUG) console.error("stageset: running from the sources, the bundle failed:", err);
  }
  // The package is CommonJS: its .ts files load through tsx's require hook, imported through its ESM one.
  const [{ register }, { register: registerCjs }] = await Promise.all([import("tsx/esm/api"), import("tsx/cjs/api")]);
  register();
  registerCjs();
  return (await import(join(root, "cli/main.ts"))).main;
}

const main = await loadMain();
const code = await main(process.argv.slice(2), {
  out: text => process.stdout.write(`${text}\n`),
  err: text => process.stderr.write(`${text}\n`),
  tty: process.stdout.isTTY === true,
  env: process.env,
});
process.exitCode = code;
