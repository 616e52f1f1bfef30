// The engine as its own process (for crash tests and benchmarks): the same watches and
// engine as the Pepr watcher, against KUBECONFIG, until killed. Prints "ready" once watching.
// STAGESET_NAMESPACES=a,b limits it to those namespaces.
import { startController } from "./controller";

async function main(): Promise<void> {
  const namespaces = process.env.STAGESET_NAMESPACES?.split(",").filter(Boolean);
  const running = await startController({
    ...(namespaces?.length ? { namespaces } : {}),
    concurrency: Number(process.env.STAGESET_CONCURRENCY ?? 8),
    applyConcurrency: Number(process.env.STAGESET_APPLY_CONCURRENCY ?? 32),
  });
  process.stdout.write("ready\n");
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
