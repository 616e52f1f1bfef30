#!/usr/bin/env node
// The `stageset` command (and `kubectl stageset`, installed as kubectl-stageset on the PATH):
// runs cli/main.ts through tsx from this package's own dependencies.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { register as registerCjs } from "tsx/cjs/api";
import { register } from "tsx/esm/api";

// The package is CommonJS: its .ts files load through tsx's require hook, imported through its ESM one.
register();
registerCjs();
const { main } = await import(join(dirname(fileURLToPath(import.meta.url)), "../cli/main.ts"));
const code = await main(process.argv.slice(2), {
  out: text => process.stdout.write(`${text}\n`),
  err: text => process.stderr.write(`${text}\n`),
  tty: process.stdout.isTTY === true,
  env: process.env,
});
process.exitCode = code;
