// A benchmark's entry: run it, then exit (0, or 1 with the error), whatever handles it left open.
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    err => {
      console.error(err);
      process.exit(1);
    },
  );
}
