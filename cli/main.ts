// The `stageset` command (also `kubectl stageset`): see, diff and steer releases with the
// user's own kubeconfig and RBAC; nothing is added to the cluster for it. Exit codes: 0 done;
// 1 the answer is "no" (diff found changes, the gate is closed, a waited run is not Ready);
// 2 the command line is wrong; 3 the cluster refused or failed (not found, forbidden, down).
import { parseDuration, type StageSet } from "../capabilities/api";
import { resolveSources } from "../capabilities/engine";
import { Discovery, KubeApiError, KubeClient } from "../capabilities/kube";
import { diffStageSet, hasChanges, hasErrors, renderDiff } from "./diff";
import { readEvents, renderEvents } from "./events";
import { askGate } from "./gate";
import { getOutput, listStageSets } from "./get";
import { machine, type Style } from "./output";
import { renderPlan, type PlanFacts } from "./plan";
import { parseArgs, UsageError, type Parsed } from "./args";
import { approve, readStageSet, requestReconcile, setSuspended, waitForRun } from "./steer";
import { readTree, renderTree } from "./tree";

export const usage = `stageset: see, diff and steer StageSet releases (with your kubeconfig and RBAC)

  stageset get [NAME] [-n NS | -A] [-o json|yaml]   StageSets, each stage's phase, revision and age
  stageset tree NAME [-n NS]                        stages and their objects, with health
  stageset diff NAME [-n NS] [--stage S]            what the newest revisions would change (exit 1 if anything, 3 if a stage cannot be diffed)
  stageset plan NAME [-n NS]                        what a new run would do, in order, and what holds it
  stageset approve NAME STAGE [--revision R]        approve a stage's revision (needs the approve verb)
  stageset reconcile NAME [--wait] [--timeout 5m]   run now; --wait follows it until Ready (exit 1 if not)
  stageset suspend NAME | resume NAME               stop or resume reconciling
  stageset gate NS/NAME/STAGE [--url URL]           ask the gate (exit 1 unless it answers 200)
  stageset events NAME [-n NS]                      the StageSet's Events
  stageset ui [-n NS | -A] [--port P] [--gate-url U] a live, read-only view in your browser (on 127.0.0.1)

Flags: -n/--namespace, -A/--all-namespaces, -o/--output, --context, --kubeconfig, --no-color.
Exit codes: 0 done, 1 the answer is no, 2 usage error, 3 the cluster refused or failed.`;

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Colour and live redraws only on a terminal. */
  tty: boolean;
  env: Record<string, string | undefined>;
}

export async function main(argv: string[], io: Io): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseArgs(argv);
  } catch (err) {
    io.err(`error: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (parsed.command === "help" || parsed.flags.help) return (io.out(usage), 0);
  if (typeof parsed.flags.kubeconfig === "string") process.env.KUBECONFIG = parsed.flags.kubeconfig;
  const style: Style = { color: io.tty && !parsed.flags["no-color"] && !io.env.NO_COLOR };
  let kube: ReturnType<typeof KubeClient.forUser> | undefined;
  try {
    kube = KubeClient.forUser(typeof parsed.flags.context === "string" ? parsed.flags.context : undefined);
    return await run(parsed, kube, io, style);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}\n\n${usage}`);
      return 2;
    }
    io.err(`error: ${err instanceof KubeApiError ? `${err.status} ${err.reason}: ${err.message}` : err instanceof Error ? err.message : String(err)}`);
    return 3;
  } finally {
    kube?.client.close();
  }
}

interface Ctx {
  client: KubeClient;
  namespace: string;
  args: string[];
  flags: Parsed["flags"];
  output?: string;
  io: Io;
  style: Style;
  now: number;
  /** The StageSet named by the first argument. */
  name(): string;
}

const flag = (ctx: Ctx, name: string) => (typeof ctx.flags[name] === "string" ? (ctx.flags[name] as string) : undefined);
const say = (ctx: Ctx, text: string) => (ctx.io.out(text), 0);

// One entry per command: what it reads or changes, what it prints, and its exit code.
const commands: Record<string, (ctx: Ctx) => Promise<number>> = {
  get: async ctx => {
    const all = ctx.flags["all-namespaces"] === true;
    return say(ctx, getOutput(await listStageSets(ctx.client, all ? undefined : ctx.namespace, ctx.args[0]), { output: ctx.output, allNamespaces: all, now: ctx.now, style: ctx.style }));
  },
  tree: async ctx => {
    const ss = await readStageSet(ctx.client, ctx.namespace, ctx.name());
    return say(ctx, renderTree(ss, await readTree(ctx.client, new Discovery(ctx.client), ss), ctx.style));
  },
  diff: async ctx => {
    const diffs = await diffStageSet(ctx.client, await readStageSet(ctx.client, ctx.namespace, ctx.name()), { stage: flag(ctx, "stage") });
    ctx.io.out(ctx.output ? machine(ctx.output, diffs) : renderDiff(diffs, ctx.style));
    return hasErrors(diffs) ? 3 : hasChanges(diffs) ? 1 : 0;
  },
  plan: async ctx => {
    const ss = await readStageSet(ctx.client, ctx.namespace, ctx.name());
    return say(ctx, renderPlan(ss, await planFacts(ctx.client, ss, ctx.now), ctx.style));
  },
  approve: async ctx => {
    const stage = ctx.args[1] ?? fail("approve needs the StageSet's name and the stage");
    const result = await approve(ctx.client, ctx.namespace, ctx.name(), stage, flag(ctx, "revision"));
    if (!result.effective) return (ctx.io.err(`stage ${stage} of StageSet ${ctx.namespace}/${ctx.name()} at revision ${result.revision}: ${result.why}`), 1);
    return say(ctx, `approved stage ${stage} of StageSet ${ctx.namespace}/${ctx.name()} at revision ${result.revision}`);
  },
  reconcile: async ctx => {
    // Every flag checked before anything is written.
    const timeoutMs = parseDuration(flag(ctx, "timeout") ?? "5m") ?? fail(`--timeout ${flag(ctx, "timeout")}: a duration such as 90s or 5m`);
    const requestedAt = await requestReconcile(ctx.client, ctx.namespace, ctx.name(), new Date(ctx.now));
    ctx.io.out(`reconcile of StageSet ${ctx.namespace}/${ctx.name()} requested at ${requestedAt}`);
    if (!ctx.flags.wait) return 0;
    const result = await waitForRun(ctx.client, ctx.namespace, ctx.name(), requestedAt, timeoutMs, ctx.io.out, ctx.style);
    ctx.io.out(result.ready ? `StageSet ${ctx.namespace}/${ctx.name()} is Ready` : `StageSet ${ctx.namespace}/${ctx.name()} is not Ready: ${result.why}`);
    return result.ready ? 0 : 1;
  },
  suspend: async ctx => (await setSuspended(ctx.client, ctx.namespace, ctx.name(), true), say(ctx, `StageSet ${ctx.namespace}/${ctx.name()} suspended`)),
  resume: async ctx => (await setSuspended(ctx.client, ctx.namespace, ctx.name(), false), say(ctx, `StageSet ${ctx.namespace}/${ctx.name()} resumed`)),
  gate: async ctx => {
    const answer = await askGate(gateUrl(ctx, "url"), ctx.args[0] ?? fail("gate needs <namespace>/<stageset>/<stage>"));
    ctx.io.out(`${answer.status} ${answer.body}`);
    return answer.status === 200 ? 0 : 1;
  },
  events: async ctx => say(ctx, renderEvents(await readEvents(ctx.client, ctx.namespace, ctx.name()), ctx.now, ctx.style)),
  ui: async ctx => {
    if (ctx.args.length > 0) fail(`ui takes no StageSet name (it shows them all; open one in the page): ${JSON.stringify(ctx.args[0])}`);
    const portText = flag(ctx, "port") ?? "0";
    const port = /^\d{1,5}$/.test(portText) && Number(portText) <= 65535 ? Number(portText) : fail(`--port ${portText}: a port number (0 for any free port)`);
    const all = ctx.flags["all-namespaces"] === true;
    // Loaded only for this command: the other commands start without the web server.
    const { startUi, unreadable } = await import("./ui/server");
    let lastTrouble = "";
    const ui = await startUi({
      client: ctx.client,
      namespace: all ? undefined : ctx.namespace,
      port,
      gateUrl: gateUrl(ctx, "gate-url"),
      // The page shows it too, but whoever started the view may not be looking at a page yet.
      onSource: ({ state, detail }) => {
        const trouble = unreadable(state) ? `${state}: ${detail}` : "";
        if (trouble === lastTrouble || (!trouble && state !== "Synced")) return;
        ctx.io.err(trouble ? `stageset ui: cannot read StageSets (${trouble})` : "stageset ui: reading StageSets again");
        lastTrouble = trouble;
      },
    });
    ctx.io.out(`stageset ui: read-only view of StageSets in ${all ? "all namespaces" : `namespace ${ctx.namespace}`}\nopen ${ui.url}\n(Ctrl-C stops it)`);
    await new Promise(ok => (process.once("SIGINT", ok), process.once("SIGTERM", ok)));
    await ui.close();
    return 0;
  },
};

/** The gate to ask: the flag, else STAGESET_GATE_URL, else npm start's (or a port-forward's) address. */
const gateUrl = (ctx: Ctx, name: string) => flag(ctx, name) ?? ctx.io.env.STAGESET_GATE_URL ?? "http://127.0.0.1:8082";

/** The flags each command takes (besides --context, --kubeconfig and --no-color): any other is a usage error, not silently ignored. */
const accepts: Record<string, string[]> = {
  get: ["namespace", "all-namespaces", "output"],
  tree: ["namespace"],
  diff: ["namespace", "stage", "output"],
  plan: ["namespace"],
  approve: ["namespace", "revision"],
  reconcile: ["namespace", "wait", "timeout"],
  suspend: ["namespace"],
  resume: ["namespace"],
  gate: ["url"],
  events: ["namespace"],
  ui: ["namespace", "all-namespaces", "port", "gate-url"],
};

async function run({ command, args, flags }: Parsed, kube: { client: KubeClient; namespace: string }, io: Io, style: Style): Promise<number> {
  const handler = commands[command] ?? fail(`unknown command ${JSON.stringify(command)}`);
  const stray = Object.keys(flags).filter(f => !["context", "kubeconfig", "no-color", ...accepts[command]!].includes(f));
  if (stray.length > 0) fail(`${command} does not take --${stray.join(", --")}`);
  if (flags["all-namespaces"] && args[0] && command === "get") fail("get -A lists every namespace; a StageSet is got by name in one namespace (-n)");
  if (flags.namespace === "") fail("-n needs a namespace");
  if (flags["all-namespaces"] && typeof flags.namespace === "string") fail("-A means every namespace and -n one: give one of them");
  const output = typeof flags.output === "string" ? flags.output : undefined;
  if (output && !["json", "yaml"].includes(output)) throw new UsageError(`-o ${output}: json or yaml`);
  const namespace = typeof flags.namespace === "string" ? flags.namespace : kube.namespace;
  return handler({ client: kube.client, namespace, args, flags, output, io, style, now: Date.now(), name: () => args[0] ?? fail(`${command} needs the StageSet's name`) });
}

/** What the plan needs to read: each stage's published artifact and each dependency's Ready condition. */
async function planFacts(client: KubeClient, ss: StageSet, now: number): Promise<PlanFacts> {
  const stages = ss.spec?.stages ?? [];
  const published: PlanFacts["published"] = {};
  const discovery = new Discovery(client);
  for (const stage of stages) {
    const { sources, failure } = await resolveSources(client, discovery, ss.metadata!.namespace!, [stage]);
    published[stage.name] = sources.get(stage.name)?.artifact ?? { error: failure?.message ?? "unknown" };
  }
  const dependencies: PlanFacts["dependencies"] = {};
  for (const ref of ss.spec?.dependsOn ?? []) {
    const ns = ref.namespace || ss.metadata!.namespace!;
    const dep = await readStageSet(client, ns, ref.name).catch(() => undefined);
    const ready = dep?.status?.conditions?.find(c => c.type === "Ready");
    dependencies[`${ns}/${ref.name}`] = !dep ? "not found" : ready ? `${ready.status}${ready.status === "True" ? "" : `: ${ready.reason}`}` : "none yet";
  }
  return { published, dependencies, now };
}

function fail(message: string): never {
  throw new UsageError(message);
}
