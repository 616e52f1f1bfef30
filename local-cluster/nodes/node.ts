// One real node: its directory, network and mount namespaces, cgroup root, then containerd,
// the images, and the kubelet, kube-proxy and NetworkPolicy agent. Everything is written to
// the reaper's state before it is created, so a crash at any point still gets cleaned up.
import type { ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ControlPlane } from "../control-plane";
import { nodeIP, podCIDR } from "./addresses";
import { makeCgroupRoot } from "./cgroups";
import { cniConfig } from "./cni";
import { containerdConfig, waitForContainerd } from "./containerd";
import { attachNode } from "./host";
import { importImage } from "./images";
import { kubeProxyArgs, kubeProxyConfig } from "./kube-proxy";
import { kubeletArgs, kubeletConfig } from "./kubelet";
import { holderReady, NodeShell, spawnHolder } from "./namespaces";
import type { Reaper } from "./reaper";

export interface RealNode {
  name: string;
  /** The node's address on the bridge. */
  ip: string;
  podCIDR: string;
  dir: string;
  /** Runs a command inside the node's network and mount namespaces; returns stdout. */
  exec(args: string[], input?: string): string;
}

export interface NodeContext {
  /** 1-based index among count nodes. */
  i: number;
  count: number;
  /** This run's short id, part of every host-side name. */
  run: string;
  base: string;
  bin: string;
  bridge: string;
  cp: ControlPlane;
  reaper: Reaper;
  /** Image tarballs to import before the kubelet starts. */
  tars: string[];
  log: (line: string) => void;
}

const nodeDirs = ["log", "sysctl", "kubelet", "containerd", "cni/net.d", "cni/ipam", "volume-plugins"];

export async function startNode(c: NodeContext): Promise<RealNode> {
  const name = `node-${c.i}`;
  const dir = join(c.base, `n${c.i}`);
  for (const d of nodeDirs) mkdirSync(join(dir, d), { recursive: true });
  const shell = await enterNode(c, name, dir);
  const launch = (component: string, args: string[]): ChildProcess => {
    const child = shell.spawn(component, dir, args);
    child.on("exit", (code, signal) => c.log(`${name}: ${component} exited (code ${code}, signal ${signal})`));
    c.reaper.state.procs.push({ pid: child.pid!, match: dir });
    c.reaper.save();
    return child;
  };

  writeFileSync(join(dir, "containerd.toml"), containerdConfig(dir, c.bin));
  const containerd = launch("containerd", [join(c.bin, "containerd"), "--config", join(dir, "containerd.toml")]);
  await waitForContainerd(name, dir, c.bin, containerd, shell);
  for (const tar of c.tars) importImage(args => shell.exec(args), c.bin, tar);

  const spec = { name, dir, ip: nodeIP(c.i), cgroupRoot: cgroupRootOf(c), clientCA: join(c.cp.dir, "pki/client-ca.crt"), kubeconfig: c.cp.kubeconfig };
  writeFileSync(join(dir, "cni/net.d/10-stageset.conflist"), cniConfig(c.i, join(dir, "cni/ipam")));
  writeFileSync(join(dir, "resolv.conf"), "");
  writeFileSync(join(dir, "kubelet.yaml"), kubeletConfig(spec));
  writeFileSync(join(dir, "kube-proxy.yaml"), kubeProxyConfig(c.cp.kubeconfig, name));
  launch("kubelet", kubeletArgs(spec, c.bin));
  launch("kube-proxy", kubeProxyArgs(dir, c.bin));
  launch("netpol", [join(c.bin, "k8s-node-agent"), "netpol", "-kubeconfig", c.cp.kubeconfig, "-node", name]);
  c.log(`${name} started (${spec.ip}, pods ${podCIDR(c.i)}, netns ${netnsOf(c)})`);
  return { name, ip: spec.ip, podCIDR: podCIDR(c.i), dir, exec: (args, input) => shell.exec(args, input) };
}

const netnsOf = (c: NodeContext) => `stageset-${c.run}-n${c.i}`;
const cgroupRootOf = (c: NodeContext) => `stageset-${c.run}-n${c.i}`;

/** Network namespace, cgroup root and the holder of the mount namespace. */
async function enterNode(c: NodeContext, name: string, dir: string): Promise<NodeShell> {
  const netns = netnsOf(c);
  const veth = `ssv${c.run}n${c.i}`;
  c.reaper.state.netns.push(netns);
  c.reaper.state.links.push(veth);
  c.reaper.state.cgroupRoots.push(cgroupRootOf(c));
  c.reaper.save();
  attachNode({ i: c.i, count: c.count, bridge: c.bridge, netns, veth });
  makeCgroupRoot(cgroupRootOf(c));
  const holder = spawnHolder(netns, dir, join(c.bin, "k8s-node-agent"));
  c.reaper.state.holders.push({ pid: holder.pid!, match: dir });
  c.reaper.save();
  await holderReady(name, dir, holder);
  return new NodeShell(holder.pid!, c.bin);
}
