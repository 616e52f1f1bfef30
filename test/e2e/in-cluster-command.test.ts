// The README's one command to try the in-cluster install locally, run as a user runs it:
// `npm run start:in-cluster` must build, install the chart on a real node, roll the demo
// release out through the controller's pods, print the gate's 200 for every stage as curl sees
// it through the Service, stay up, and on Ctrl-C (SIGINT to its process group, as a terminal
// sends it) remove everything it started.
import { execFileSync, spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { root } from "./as-user";

describe("npm run start:in-cluster", () => {
  it("rolls the demo out through the chart's pods, curl gets 200 from the gate for every stage, and Ctrl-C leaves nothing", async () => {
    const child = spawn("npm", ["run", "--silent", "start:in-cluster"], { cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", d => (out += String(d)));
    child.stderr.on("data", d => (out += String(d)));
    const exited = new Promise<void>(ok => child.on("exit", () => ok()));
    try {
      const deadline = Date.now() + 20 * 60_000;
      while (!out.includes("Ctrl-C removes it all")) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`start:in-cluster did not come up:\n${out}`);
        await new Promise(ok => setTimeout(ok, 500));
      }
      for (const stage of ["crds", "config", "app"]) expect(out).toMatch(new RegExp(`curl http://stageset-controller-gate\\.pepr-system:8082/gate/stageset-demo/demo/${stage} \\(from a pod in flagger-system\\): 200( \\(after [\\d.]+ s\\))?$`, "m"));
      expect(out).toMatch(/demo: Ready/);
      const kubeconfig = /export KUBECONFIG=(\S+);/.exec(out)?.[1];
      expect(kubeconfig).toBeDefined();
    } finally {
      process.kill(-child.pid!, "SIGINT");
    }
    // npm itself ends on the SIGINT at once; the script goes on removing what it started.
    await exited;
    const left = () => execFileSync("ps", ["-eo", "args="], { encoding: "utf8" }).split("\n").filter(l => /scripts\/in-cluster\.ts|kubelet|containerd|kube-apiserver|etcd /.test(l) && !l.includes("ps -eo"));
    for (let i = 0; i < 120 && left().length > 0; i++) await new Promise(ok => setTimeout(ok, 500));
    process.stderr.write(out.split("\n").map(l => `[start:in-cluster] ${l}`).join("\n") + "\n");
    expect(left()).toEqual([]);
    expect(out).toMatch(/\[in-cluster\] stopping/);
    expect(execFileSync("ip", ["netns", "list"], { encoding: "utf8" })).not.toMatch(/stageset-/);
    expect(execFileSync("ip", ["-4", "route", "show"], { encoding: "utf8" })).not.toMatch(/198\.18\./);
  }, 25 * 60_000);
});
