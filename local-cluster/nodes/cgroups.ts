// The cgroup root each node's kubelet works under (--cgroup-root): one directory of our own,
// stageset-<run>-n<i>, in every cgroup v1 hierarchy. The kubelet creates kubepods below it;
// nothing else on the machine is touched. The reaper removes these trees.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Mount points of the cgroup v1 hierarchies (cpu, memory, ..., name=systemd). */
export function cgroupV1Hierarchies(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").flatMap(line => {
    const [pre, post] = line.split(" - ");
    return post?.startsWith("cgroup ") ? [pre!.split(" ")[4]!] : [];
  });
}

export function makeCgroupRoot(name: string): void {
  for (const h of cgroupV1Hierarchies()) {
    const dir = join(h, name);
    mkdirSync(dir);
    // A new cpuset starts with no CPUs and no memory nodes, and cannot hold a task until
    // given some: copy the parent's.
    if (existsSync(join(h, "cpuset.cpus"))) {
      for (const f of ["cpuset.cpus", "cpuset.mems"]) writeFileSync(join(dir, f), readFileSync(join(h, f)));
    }
  }
}
