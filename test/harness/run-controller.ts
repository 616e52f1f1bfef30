// The engine as its own process (for crash tests and benchmarks): the same watches and
// engine as the Pepr watcher, against KUBECONFIG, until killed. Prints "ready" once watching.
// STAGESET_NAMESPACES=a,b limits it to those namespaces; STAGESET_GATE_ADDRESS and
// STAGESET_METRICS_ADDRESS start the gate and metrics there (the ready line gives their URLs).
import { startController } from "./controller";

async function main(): Promise<void> {
  const namespaces = process.env.STAGESET_NAMESPACES?.split(",").filter(Boolean);
  const running = await startController({
    ...(namespaces?.length ? { namespaces } : {}),
    concurrency: Number(process.env.STAGESET_CONCURRENCY ?? 8),
    applyConcurrency: Number(process.env.STAGESET_APPLY_CONCURRENCY ?? 32),
    serve: process.env.STAGESET_GATE_ADDRESS ? { gate: process.env.STAGESET_GATE_ADDRESS, metrics: process.env.STAGESET_METRICS_ADDRESS ?? "127.0.0.1:0" } : false,
  });
  const urls = running.serving ? { gate: running.serving.gate.url, metrics: running.serving.metrics.url } : {};
  process.stdout.write(`ready ${JSON.stringify(urls)}\n`);
  const stop = () => {
    running.stop();
    process.exit(0);
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main().catch(err => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
