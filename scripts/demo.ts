// The demo release `npm start` rolls out on the embedded control plane: three stages from a
// local Flux-like artifact server (a CRD; config and a custom resource of that CRD; a
// Deployment), printed live stage by stage, then the gate's answer for every stage. The
// manifests are the files under examples/demo/, which the tests apply too.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { StageSet, type StageSetStatus } from "../capabilities/api";
import { KubeClient } from "../capabilities/kube";
import { startArtifactServer, type ArtifactServer } from "../local-cluster/artifact-server";

export const demoNamespace = "stageset-demo";
const stages = ["crds", "config", "app"] as const;

export interface Demo {
  stop(): Promise<void>;
}

/**
 * Publishes the three artifacts and applies the StageSet, then prints progress until every
 * stage is Ready; in the background, so Ctrl-C can stop it at any point.
 */
export function startDemo(root: string, gateURL: string, say: (line: string) => void): Demo {
  const client = KubeClient.fromDefault();
  let stopped = false;
  let artifacts: ArtifactServer | undefined;
  const run = (async () => {
    artifacts = await startArtifactServer();
    await client.apply(`/api/v1/namespaces/${demoNamespace}`, { apiVersion: "v1", kind: "Namespace", metadata: { name: demoNamespace } });
    for (const stage of stages) {
      const dir = join(root, "examples/demo", stage);
      const files = Object.fromEntries(readdirSync(dir).map(f => [f, readFileSync(join(dir, f), "utf8")]));
      await artifacts.publish({ namespace: demoNamespace, name: `demo-${stage}` }, { files }, { label: "v1" });
    }
    // pepr dev registers the admission webhooks before its server answers: retry a while.
    const stageSet = parse(readFileSync(join(root, "examples/demo/stageset.yaml"), "utf8"));
    for (let tries = 0; !stopped; tries++) {
      try {
        await client.apply(`/apis/stageset.dev/v1alpha1/namespaces/${demoNamespace}/stagesets/demo`, stageSet);
        break;
      } catch (err) {
        if (tries >= 240) throw err;
        await new Promise(ok => setTimeout(ok, 500));
      }
    }
    if (stopped) return;
    say(`demo: StageSet ${demoNamespace}/demo applied (stages ${stages.join(", ")}); following its progress`);
    await watchProgress(client, gateURL, say, () => stopped);
  })().catch((err: unknown) => say(`demo failed: ${err instanceof Error ? err.message : String(err)}`));
  return {
    stop: async () => {
      stopped = true;
      await run;
      client.close();
      await artifacts?.stop();
    },
  };
}

async function watchProgress(client: KubeClient, gateURL: string, say: (line: string) => void, stopped: () => boolean): Promise<void> {
  const seen = new Map<string, string>();
  const path = `/apis/stageset.dev/v1alpha1/namespaces/${demoNamespace}/stagesets/demo`;
  while (!stopped()) {
    const status = (await client.get<StageSet>(path).catch(() => undefined))?.body.status;
    for (const line of changes(status, seen)) say(line);
    if (status?.stages?.length === stages.length && status.stages.every(s => s.phase === "Ready") && readyCondition(status)) {
      for (const stage of stages) {
        const res = await fetch(`${gateURL}/gate/${demoNamespace}/demo/${stage}`).catch(() => undefined);
        say(`demo: gate GET /gate/${demoNamespace}/demo/${stage} -> ${res ? `${res.status} ${(await res.text()).trim()}` : "no answer"}`);
      }
      say("demo: all three stages Ready. The controller keeps running; Ctrl-C stops everything.");
      return;
    }
    await new Promise(ok => setTimeout(ok, 250));
  }
}

const readyCondition = (s: StageSetStatus) => s.conditions?.some(c => c.type === "Ready" && c.status === "True");

/** One line per stage whose phase or message changed since the last look. */
function changes(status: StageSetStatus | undefined, seen: Map<string, string>): string[] {
  const lines: string[] = [];
  for (const st of status?.stages ?? []) {
    const now = `${st.phase}: ${st.message ?? ""}`;
    if (seen.get(st.name) === now) continue;
    seen.set(st.name, now);
    lines.push(`demo: stage ${st.name.padEnd(6)} ${st.phase.padEnd(8)} ${st.message ?? ""}`);
  }
  return lines;
}
