// The command line, parsed: a command, its positional arguments and its flags. Pure. Unknown
// flags are an error (a typo must not be silently ignored), as kubectl does.

export interface Parsed {
  command: string;
  args: string[];
  flags: Record<string, string | true>;
}

/** Flags that take a value; the rest are switches. `-n x`, `--namespace=x`, `-A`. */
const valued: Record<string, string> = { n: "namespace", namespace: "namespace", o: "output", output: "output", stage: "stage", revision: "revision", timeout: "timeout", url: "url", "gate-url": "gate-url", port: "port", kubeconfig: "kubeconfig", context: "context" };
const switches: Record<string, string> = { A: "all-namespaces", "all-namespaces": "all-namespaces", wait: "wait", h: "help", help: "help", "no-color": "no-color" };

export class UsageError extends Error {}

export function parseArgs(argv: string[]): Parsed {
  const args: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    const m = /^(--?)([A-Za-z][-A-Za-z]*)(?:=(.*))?$/.exec(a);
    if (!m) {
      args.push(a);
      continue;
    }
    const [, dashes, name, inline] = m;
    if (dashes === "-" && name!.length > 1) throw new UsageError(`unknown flag ${a} (long flags take two dashes)`);
    const key = valued[name!] ?? switches[name!];
    if (!key) throw new UsageError(`unknown flag ${a}`);
    if (valued[name!]) {
      const value = inline ?? argv[++i];
      if (value === undefined || (inline === undefined && value.startsWith("-"))) throw new UsageError(`flag ${a} needs a value`);
      flags[key] = value;
    } else {
      if (inline !== undefined) throw new UsageError(`flag --${name} takes no value`);
      flags[key] = true;
    }
  }
  const [command = "help", ...rest] = args;
  return { command, args: rest, flags };
}
