// The watcher container's first process, run as `node -e <this file> <module hash>`.
// It runs the module itself where Pepr's controller.js would fork it: a forked module never
// hears the pod's SIGTERM (the first process of a container ignores a signal it has no handler
// for, and controller.js neither handles nor forwards it), so it could not hand its Lease over,
// and the idle parent held ~50 MiB. It checks the module as controller.js does: the gzip from the
// module Secret must hash to the Deployment's argument.
const { createHash, timingSafeEqual } = require("node:crypto");
const { readFileSync, writeFileSync } = require("node:fs");
const { gunzipSync } = require("node:zlib");
const hash = process.argv.at(-1);
if (!/^[a-f0-9]{64}$/.test(hash)) throw new Error(`expected the module's SHA-256 as the last argument, got ${JSON.stringify(hash)}`);
const gz = `/app/load/module-${hash}.js.gz`; // the module Secret, where Pepr's Deployment mounts it
const code = gunzipSync(readFileSync(gz));
if (!timingSafeEqual(createHash("sha256").update(code).digest(), Buffer.from(hash, "hex"))) throw new Error(`${gz} does not hash to ${hash}`);
const file = `/app/module-${hash}.js`;
writeFileSync(file, code);
require(file);
