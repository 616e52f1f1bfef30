// A node's namespaces: its network namespace (made by host.ts) plus a private mount
// namespace, kept alive by a holder process that sleeps until signalled. Every component of
// the node is started by nsenter into the holder's namespaces. Inside, and only there:
//   - /run is a tmpfs of its own, so containerd's socket, shim sockets, pod network
//     namespaces and iptables' lock stay apart per node and vanish with it;
//   - /var/log is bound to the node's directory (the kubelet's /var/log/pods and containers);
//   - the kubelet sets vm.overcommit_memory, kernel.panic and kernel.panic_on_oops, which are
//     not namespaced: files holding the values it expects are bound over those /proc/sys
//     entries, so the host's values never change;
//   - one masquerade rule: pods reach the host (API server) as the node.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { openSync } from "node:fs";
import { join } from "node:path";
import { bridgeCIDR, clusterCIDR } from "./addresses";
import { readCmdline, until } from "./run";

const setupScript = (clusterRange: string, hostRange: string) => [
  "set -e",
  "umount -R -l /run/netns 2>/dev/null || true",
  "mount -t tmpfs -o mode=0755 stageset-node-run /run",
  'mount --bind "$1/log" /var/log',
  'for kv in vm/overcommit_memory=1 kernel/panic=10 kernel/panic_on_oops=1; do f=${kv%%=*}; n=${f##*/}; echo "${kv#*=}" > "$1/sysctl/$n"; mount --bind "$1/sysctl/$n" "/proc/sys/$f"; done',
  "echo 1 > /proc/sys/net/ipv4/ip_forward",
  "echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables",
  // Pod-to-pod traffic keeps its addresses (NetworkPolicy sees them); only traffic to the host's bridge is masqueraded.
  `iptables -w -t nat -A POSTROUTING -s ${clusterRange} -d ${hostRange} -o eth0 -j MASQUERADE`,
  'exec "$2" hold "$1"',
].join("\n");

/** Starts the holder in netns; it enters the node's mount namespace and prepares it. */
export function spawnHolder(netns: string, dir: string, agent: string): ChildProcess {
  const out = openSync(join(dir, "holder.log"), "a");
  return spawn("nsenter", [`--net=/run/netns/${netns}`, "--", "unshare", "--mount", "--propagation", "private", "--",
    "/bin/sh", "-c", setupScript(clusterCIDR, bridgeCIDR), "sh", dir, agent], { stdio: ["ignore", out, out] });
}

/** Waits until the holder has set the namespaces up and sleeps in `hold`. */
export async function holderReady(name: string, dir: string, holder: ChildProcess): Promise<void> {
  await until(() => {
    if (holder.exitCode !== null) throw new Error(`node ${name}: namespace setup failed; see ${join(dir, "holder.log")}`);
    return readCmdline(holder.pid!).includes("\0hold\0");
  }, 20_000, `node ${name} namespaces`);
}

/** Runs commands in a node's namespaces, with the node binaries first on PATH. */
export class NodeShell {
  readonly env: NodeJS.ProcessEnv;

  constructor(private readonly holderPid: number, bin: string) {
    this.env = { ...process.env, PATH: `${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` };
  }

  /** nsenter's arguments for running args inside the node. */
  argv(args: string[]): string[] {
    return ["--target", String(this.holderPid), "--mount", "--net", "--", ...args];
  }

  exec(args: string[], input?: string): string {
    return execFileSync("nsenter", this.argv(args), { encoding: "utf8", input, env: this.env, stdio: ["pipe", "pipe", "pipe"] });
  }

  /** Starts a long-running component with its output in dir/<component>.log. */
  spawn(component: string, dir: string, args: string[]): ChildProcess {
    const out = openSync(join(dir, `${component}.log`), "a");
    return spawn("nsenter", this.argv(args), { stdio: ["ignore", out, out], env: this.env });
  }
}
