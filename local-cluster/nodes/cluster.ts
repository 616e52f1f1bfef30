// A cluster of real nodes on this machine: a control plane on the nodes' bridge, then the
// nodes (node.ts), then cluster DNS. No container engine and no registry: images are built
// here and imported into each node's containerd. One cluster at a time per machine (the
// bridge address is fixed); stop() or the reaper leaves the host as it was.
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { kubectl, startControlPlane, type ControlPlane } from "../control-plane";
import { scriptOutput } from "../tools";
import { bridgeAddress, maxNodes } from "./addresses";
import { installDNS } from "./dns";
import { assertAddressFree, createBridge } from "./host";
import { buildBaseImages, buildImage, importImage, type ImageSpec } from "./images";
import { startNode, type RealNode } from "./node";
import { startReaper, type Reaper } from "./reaper";
import { until } from "./run";

export interface NodeCluster {
  controlPlane: ControlPlane;
  nodes: RealNode[];
  /** This run's work directory (node directories, logs); gone after stop unless kept. */
  dir: string;
  /** Names this run gave to what it made on the host, for checks that all of it is gone. */
  hostNames: { bridge: string; netns: string[]; veths: string[]; cgroupRoots: string[] };
  /** Directory of the node binaries (kubelet, containerd, k8s-node-agent, echo-server ...). */
  nodeBinDir: string;
  /** kubectl against the cluster (admin). */
  kubectl(args: string[], input?: string): string;
  /** Builds an image from a directory and imports it into every node's containerd. */
  addImage(spec: ImageSpec): void;
  /** Stops everything; resolves to what could not be removed (empty when all is gone). */
  stop(): Promise<string[]>;
}

export interface NodeClusterOptions {
  /** Number of nodes, 1 to 8 (default 2). */
  nodes?: number;
  /** Keep the nodes' and the control plane's directories (logs) after stop. */
  keepDirs?: boolean;
  log?: (line: string) => void;
}

/** Builds (or finds in the cache) the node binaries and returns their directory. */
export function nodeBinDir(): string {
  return scriptOutput("scripts/build-node-tools.sh");
}

const readyTimeoutMs = 180_000;

export async function startNodeCluster(opts: NodeClusterOptions = {}): Promise<NodeCluster> {
  const count = opts.nodes ?? 2;
  if (count < 1 || count > maxNodes) throw new Error(`nodes must be 1..${maxNodes}, not ${count}`);
  const log = opts.log ?? (() => {});
  const bin = nodeBinDir();
  assertAddressFree();
  const run = randomBytes(3).toString("hex");
  const base = mkdtempSync("/tmp/ssn-"); // short: unix socket paths below it must stay < 108 bytes
  const bridge = `ssbr-${run}`;
  const reaper = startReaper(join(bin, "k8s-node-agent"), base, {
    procs: [], holders: [], cmdlineMatch: [], cgroupRoots: [], netns: [], links: [bridge], dirs: opts.keepDirs ? [] : [base],
  });
  log(`work dir ${base}`);
  let cp: ControlPlane | undefined;
  let stopped: Promise<string[]> | undefined;
  const stop = () => (stopped ??= stopCluster(cp, reaper));
  try {
    createBridge(bridge);
    cp = await startControlPlane({ nodeAddress: bridgeAddress, keepDir: opts.keepDirs, log: l => log(`[control-plane] ${l}`) });
    reaper.state.cmdlineMatch.push(cp.dir);
    if (!opts.keepDirs) reaper.state.dirs.push(cp.dir);
    reaper.save();
    const tars = buildBaseImages(bin);
    const nodes: RealNode[] = [];
    for (let i = 1; i <= count; i++) nodes.push(await startNode({ i, count, run, base, bin, bridge, cp, reaper, tars, log }));
    const k = (args: string[], input?: string) => kubectl(cp!.binDir, cp!.kubeconfig, args, input);
    await waitForNodesReady(k, nodes.map(n => n.name), log);
    installDNS(k);
    log("cluster DNS ready");
    const addImage = (spec: ImageSpec) => {
      const tar = buildImage(bin, spec);
      for (const n of nodes) importImage(args => n.exec(args), bin, tar);
    };
    const s = reaper.state;
    const hostNames = { bridge, netns: [...s.netns], veths: s.links.filter(l => l !== bridge), cgroupRoots: [...s.cgroupRoots] };
    return { controlPlane: cp, nodes, dir: base, hostNames, nodeBinDir: bin, kubectl: k, addImage, stop };
  } catch (err) {
    const left = await stop();
    const kept = opts.keepDirs ? ` (logs kept in ${base})` : "";
    throw new Error(`${(err as Error).message}${kept}${left.length ? `; left behind: ${left.join("; ")}` : ""}`, { cause: err });
  }
}

// The control plane stops first, in its own way, while the kubelets' connections to it are
// still alive (with the nodes gone first, the API server's graceful shutdown waits on
// connections to vanished addresses until it is killed); then the reaper removes the nodes.
async function stopCluster(cp: ControlPlane | undefined, reaper: Reaper): Promise<string[]> {
  await cp?.stop();
  reaper.state.cmdlineMatch = [];
  reaper.save();
  return reaper.cleanup();
}

type Kubectl = (args: string[], input?: string) => string;

interface NodeList {
  items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
}

async function waitForNodesReady(k: Kubectl, names: string[], log: (l: string) => void): Promise<void> {
  const started = Date.now();
  const readyNames = () => {
    try {
      const items = (JSON.parse(k(["get", "nodes", "-o", "json"])) as NodeList).items;
      return items.filter(n => n.status?.conditions?.some(c => c.type === "Ready" && c.status === "True")).map(n => n.metadata.name);
    } catch {
      return [];
    }
  };
  await until(() => names.every(n => readyNames().includes(n)), readyTimeoutMs, `nodes ${names.join(", ")} Ready`);
  log(`nodes Ready after ${((Date.now() - started) / 1000).toFixed(1)}s`);
}
