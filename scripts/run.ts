// The run command (npm start): with no cluster configured, start the embedded local
// control plane, install the CRDs, run the controller locally with `pepr dev` against it,
// and roll out the demo release (scripts/demo.ts) live. With KUBECONFIG set, run the
// controller against that cluster instead (no demo). Ctrl-C stops everything it started.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { harnessBinDir, kubectl, startControlPlane, type ControlPlane } from "../local-cluster/control-plane";
import { startDemo, type Demo } from "./demo";
import { stopSignal } from "./stop-signal";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const say = (line: string) => process.stdout.write(`[stageset] ${line}\n`);

// pepr dev serves the module's admission webhooks on this port, and cannot be given another.
const peprDevPort = 3000;

async function main(): Promise<void> {
  // Before anything starts: pepr dev would retry a taken port forever while the demo fails on
  // TLS errors from whatever holds it.
  if (!(await portFree(peprDevPort))) {
    throw new Error(`port ${peprDevPort} is in use: \`pepr dev\` serves the module's admission webhooks there and cannot use another port. Free it (see \`lsof -i :${peprDevPort}\` or \`ss -ltnp\`) and run again.`);
  }
  // Ctrl-C (or a dying parent) may come at any point, even while the plane starts.
  const stopped = stopSignal();
  let plane: ControlPlane | undefined;
  let kubeconfig = process.env.KUBECONFIG;
  const binDir = harnessBinDir();
  if (!kubeconfig) {
    say("no KUBECONFIG set: starting the embedded local control plane");
    plane = await startControlPlane({ log: say });
    kubeconfig = plane.kubeconfig;
  }
  const crds = ["-f", resolve(root, "crds")];
  // A local plane has no Flux: install the ExternalArtifact CRD so stages have a source kind.
  if (plane) crds.push("-f", resolve(root, "test/fixtures/crds"));
  say(kubectl(binDir, kubeconfig, ["apply", "--server-side", "--force-conflicts", ...crds]).trim());

  say("starting the controller (pepr dev)");
  // On a workstation the gate and metrics listen on loopback only.
  const gate = process.env.STAGESET_GATE_ADDRESS ?? "127.0.0.1:8082";
  const metrics = process.env.STAGESET_METRICS_ADDRESS ?? "127.0.0.1:8080";
  // pepr dev registers the admission webhooks at https://<host>:3000 with a certificate for
  // that name as a DNS name: "localhost", since the API server refuses an IP without an IP SAN.
  const controller = spawn("npx", ["pepr", "dev", "--yes", "--host", "localhost"], {
    cwd: root,
    env: { ...process.env, KUBECONFIG: kubeconfig, LOG_LEVEL: process.env.LOG_LEVEL ?? "info", STAGESET_GATE_ADDRESS: gate, STAGESET_METRICS_ADDRESS: metrics },
    stdio: "inherit",
    detached: true,
  });
  const exited = new Promise<void>(done =>
    controller.once("exit", code => {
      say(`controller exited with code ${code}`);
      done();
    }),
  );

  say(`ready. In another shell:\n\n    export KUBECONFIG=${kubeconfig}\n    ${binDir}/kubectl get stagesets -A\n    curl -i http://${gate}/gate/<namespace>/<stageset>/<stage>\n    curl -s http://${metrics}/metrics | grep stageset_\n`);
  let demo: Demo | undefined;
  if (plane && process.env.STAGESET_DEMO !== "0") {
    process.env.KUBECONFIG = kubeconfig;
    demo = startDemo(root, `http://${gate}`, say);
  }
  await Promise.race([stopped, exited]);
  say("stopping");
  await demo?.stop();
  stopGroup(controller);
  await plane?.stop();
}

/** Whether nothing listens on the port (on any address, as pepr dev binds it). */
function portFree(port: number): Promise<boolean> {
  return new Promise(done => {
    const probe = createServer()
      .once("error", () => done(false))
      .listen(port, () => probe.close(() => done(true)));
  });
}

function stopGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    // already gone
  }
}

main().catch(err => {
  process.stderr.write(`[stageset] ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
