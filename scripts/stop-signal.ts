// Resolves on Ctrl-C, SIGTERM or SIGHUP, or when whatever started this process goes away
// without signalling (npm does not always forward Ctrl-C): then shut down rather than leave a
// cluster running.
export function stopSignal(): Promise<void> {
  return new Promise(done => {
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(signal, () => done());
    const parent = process.ppid;
    setInterval(() => process.ppid !== parent && done(), 1000).unref();
  });
}
