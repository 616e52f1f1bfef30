// The baseline for the gate benchmark: a bare node:http server that answers gate requests
// the same way (a map lookup, the same status codes, headers and bodies) and nothing more.
// Usage: node bench/bare-gate.mjs <namespace> <stagesets> <stages>; prints its port.
import http from "node:http";
import process from "node:process";

const [ns, stageSets, stages] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const ready = new Map();
for (let i = 0; i < stageSets; i++) for (let s = 0; s < stages; s++) ready.set(`/gate/${ns}/ss-${i}/stage-${s}`, (i + s) % 2 === 0);
const headers = { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" };

const server = http.createServer((req, res) => {
  const r = ready.get(req.url);
  res.writeHead(r ? 200 : 403, headers);
  res.end(r ? "ready\n" : "not ready\n");
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`${server.address().port}\n`));
