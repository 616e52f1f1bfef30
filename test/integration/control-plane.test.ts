// The foundation every other test stands on: the real control plane serves our CRD,
// runs workloads to Available, and an artifact published like Flux does can be fetched
// and verified.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { K8s, kind } from "pepr";
import { parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExternalArtifact, StageSet } from "../../capabilities/api";
import { startArtifactServer, type ArtifactServer } from "../../local-cluster/artifact-server";
import { createTestNamespace, deleteTestNamespace, eventually } from "../harness/cluster";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
let ns: string;
let artifacts: ArtifactServer;

beforeAll(async () => {
  ns = await createTestNamespace("foundation");
  artifacts = await startArtifactServer();
});

afterAll(async () => {
  await artifacts?.stop();
  if (ns) await deleteTestNamespace(ns);
});

describe("control plane", () => {
  it("serves the StageSet CRD from crds/ once applied", async () => {
    const [doc] = parseAllDocuments(readFileSync(resolve(root, "crds/stageset.dev_stagesets.yaml"), "utf8"));
    await K8s(kind.CustomResourceDefinition).Apply(doc!.toJS(), { force: true });
    const crd = await eventually(
      () => K8s(kind.CustomResourceDefinition).Get("stagesets.stageset.dev"),
      c => c.status?.conditions?.some(x => x.type === "Established" && x.status === "True") ?? false,
      { what: "StageSet CRD Established" },
    );
    expect(crd.spec.versions.map(v => v.name)).toEqual(["v1alpha1"]);
    expect(crd.spec.versions[0]!.subresources?.status).toBeDefined();
  });

  it("creates a StageSet and reads it back with the schema's defaults", async () => {
    await K8s(StageSet).Create({
      metadata: { name: "release", namespace: ns },
      spec: { stages: [{ name: "crds", sourceRef: { name: "platform-crds" } }, { name: "app", sourceRef: { name: "app" }, path: "deploy" }] },
    });
    const got = await K8s(StageSet).InNamespace(ns).Get("release");
    expect(got.spec?.stages.map(s => s.name)).toEqual(["crds", "app"]);
    expect(got.spec?.stages[0]?.sourceRef).toEqual({ apiVersion: "source.toolkit.fluxcd.io/v1", kind: "ExternalArtifact", name: "platform-crds" });
    expect(got.spec?.stages[0]?.prune).toBe(true);
    expect(got.spec?.stages[1]?.path).toBe("deploy");
    expect(got.spec?.interval).toBe("10m");
    expect(got.spec?.timeout).toBe("15m");
  });

  it("rejects a StageSet whose stage name is not a DNS label", async () => {
    const create = K8s(StageSet).Create({
      metadata: { name: "bad", namespace: ns },
      spec: { stages: [{ name: "Not_A_Label", sourceRef: { name: "x" } }] },
    });
    await expect(create).rejects.toMatchObject({ status: 422 });
  });

  it("runs a Deployment to Available through controller-manager, scheduler and kwok", async () => {
    await K8s(kind.Deployment).Apply({
      metadata: { name: "web", namespace: ns },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "web", image: "registry.invalid/web:1" }] },
        },
      },
    });
    const deploy = await eventually(
      () => K8s(kind.Deployment).InNamespace(ns).Get("web"),
      d => d.status?.conditions?.some(c => c.type === "Available" && c.status === "True") === true && d.status?.readyReplicas === 2,
      { what: "Deployment web Available with 2 ready replicas", timeoutMs: 60_000 },
    );
    expect(deploy.status?.observedGeneration).toBe(deploy.metadata?.generation);
    const pods = await K8s(kind.Pod).InNamespace(ns).WithLabel("app", "web").Get();
    expect(pods.items.map(p => p.status?.phase)).toEqual(["Running", "Running"]);
  });
});

describe("artifact server", () => {
  it("publishes an ExternalArtifact whose artifact is fetched over HTTP with a matching digest", async () => {
    const manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: blue\n";
    const published = await artifacts.publish({ namespace: ns, name: "config" }, { files: { "deploy/settings.yaml": manifest } }, { label: "v1.0.0" });

    const ea = await K8s(ExternalArtifact).InNamespace(ns).Get("config");
    const artifact = ea.status?.artifact;
    expect(artifact).toEqual(published);
    expect(artifact?.revision).toMatch(/^v1\.0\.0@sha256:[a-f0-9]{64}$/);

    const res = await fetch(artifact!.url);
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(`sha256:${createHash("sha256").update(bytes).digest("hex")}`).toBe(artifact!.digest);
    expect(bytes.length).toBe(artifact!.size);
    const listing = execFileSync("tar", ["-tzf", "-"], { input: bytes, encoding: "utf8" });
    expect(listing.trim().split("\n")).toEqual(["deploy/settings.yaml"]);
    const body = execFileSync("tar", ["-xzOf", "-", "deploy/settings.yaml"], { input: bytes, encoding: "utf8" });
    expect(body).toBe(manifest);
  });

  it("publishes revision after revision on the same ExternalArtifact", async () => {
    const ref = { namespace: ns, name: "app" };
    const first = await artifacts.publish(ref, { files: { "a.yaml": "kind: A\n" } });
    const second = await artifacts.publish(ref, { files: { "a.yaml": "kind: B\n" } });
    expect(second.digest).not.toBe(first.digest);
    const ea = await K8s(ExternalArtifact).InNamespace(ns).Get("app");
    expect(ea.status?.artifact?.revision).toBe(second.revision);
    // The old revision stays fetchable, as Flux storage keeps recent artifacts.
    expect((await fetch(first.url)).status).toBe(200);
  });
});
