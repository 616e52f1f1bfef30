// Bad input on the real control plane: a corrupt, hostile or invalid artifact fails its stage
// with a stable reason on Ready and a message naming the file, entry, object or field, and
// nothing from it is applied and nothing is pruned. A later stage is never touched.
import { gzipSync } from "node:zlib";
import { K8s, kind } from "pepr";
import { describe, expect, it, type ExpectStatic } from "vitest";
import { StageSet } from "../../capabilities/api";
import { startArtifactServer, type ArtifactContent, type PublishOptions } from "../../local-cluster/artifact-server";
import { eventually } from "../harness/cluster";
import { configMapIn, useEngineSuite } from "../harness/suite";
import { fileHeader, tar, tarGz } from "../../local-cluster/tar";

const env = useEngineSuite("bad-input");

const MiB = 1024 * 1024;
const configMap = (name: string, color = "blue") => `apiVersion: v1
kind: ConfigMap
metadata: { name: ${name} }
data: { color: ${color} }
`;
// A tab used as indentation on line 7: invalid YAML, whatever parser reads it.
const brokenYaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  color: blue\n\tsize: small\n";
const gadget = `apiVersion: gadgets.bad-input.example.com/v1
kind: Gadget
metadata: { name: probe }
spec: { size: 3 }
`;

const read = (name: string) => K8s(StageSet).InNamespace(env.ns).Get(name);
const readyOf = (ss: StageSet) => ss.status?.conditions?.find(c => c.type === "Ready");
const stage = (ss: StageSet, name: string) => ss.status?.stages?.find(s => s.name === name);
const ready = (ss: StageSet) => ss.status?.conditions?.some(c => c.type === "Ready" && c.status === "True" && c.observedGeneration === ss.metadata?.generation) ?? false;
const failedWith = (reason: string) => (ss: StageSet) => readyOf(ss)?.status === "False" && readyOf(ss)?.reason === reason;

/** Each stage `<stage>` of StageSet `<ss>` reads the ExternalArtifact `<ss>-<stage>`. */
async function createStageSet(name: string, stages: string[], spec: { retryInterval?: string } = {}): Promise<void> {
  await K8s(StageSet).Apply({ metadata: { name, namespace: env.ns }, spec: { ...spec, stages: stages.map(s => ({ name: s, sourceRef: { name: `${name}-${s}` } })) } });
}

function publish(ss: string, stageName: string, content: ArtifactContent, opts?: PublishOptions, server = env.artifacts) {
  return server.publish({ namespace: env.ns, name: `${ss}-${stageName}` }, content, opts);
}

const getConfigMap = (name: string) => configMapIn(env.ns, name);

/** uid of each ConfigMap (undefined when absent): equal before and after means none was deleted or recreated. */
const uids = async (names: string[]) => Object.fromEntries(await Promise.all(names.map(async n => [n, (await getConfigMap(n))?.metadata?.uid])));

/** `kubectl get cm -l stageset.dev/name=<ss>`, ApplySet parents aside: what the StageSet applied. */
async function members(ss: string): Promise<string[]> {
  const list = await K8s(kind.ConfigMap).InNamespace(env.ns).WithLabel("stageset.dev/name", ss).Get();
  return list.items.filter(cm => cm.metadata?.labels?.["stageset.dev/applyset-parent"] !== "true").map(cm => cm.metadata!.name!).sort();
}

/** The Ready condition and the failing stage both say why, in the same words. */
function expectStageFailed(expect: ExpectStatic, ss: StageSet, stageName: string, message: RegExp): void {
  const cond = readyOf(ss);
  expect(cond?.message).toMatch(message);
  expect(cond?.message).toContain(`stage ${stageName}`);
  // Soft: the checks that follow (nothing applied, nothing pruned) still run and report.
  expect.soft({ phase: stage(ss, stageName)?.phase, message: stage(ss, stageName)?.message }).toEqual({ phase: "Failed", message: expect.stringMatching(message) });
}

// The engine retries a failure after ~1 s, then ~2 s: holding this long lets at least one retry
// run, so "nothing was applied" is checked after the engine has had another go.
const holdStill = () => new Promise(ok => setTimeout(ok, 2_500));

interface BadArtifact {
  /** Also the StageSet's name and the prefix of every object it would create. */
  id: string;
  name: string;
  content: (id: string) => ArtifactContent;
  opts?: PublishOptions;
  /** Bytes served at the artifact's URL instead of what was published. */
  tamper?: (id: string) => Buffer;
  /** A redirect served at the artifact's URL instead. */
  redirect?: string;
  reason: string;
  message: RegExp;
}

const settings = (id: string) => ({ name: "a-settings.yaml", body: configMap(`${id}-settings`) });
// ~150 MiB of zeros in one tar entry: about 150 KB once gzipped, over the 100 MiB extraction cap.
const bomb = () => gzipSync(tar([...Array(15).keys()].map(i => ({ name: `zeros-${i}.yaml`, body: Buffer.alloc(10 * MiB) }))), { level: 9 });
// One entry that declares 1 GiB: refused as soon as its header is inflated.
const oneFileBomb = () => Buffer.concat([gzipSync(fileHeader("zeros.yaml", 1024 * MiB)), gzipSync(Buffer.alloc(16 * MiB))]);

const badArtifacts: BadArtifact[] = [
  {
    id: "metadata-redirect",
    name: "an artifact URL that redirects to the cloud metadata address",
    content: id => ({ files: { "a.yaml": configMap(`${id}-settings`) } }),
    redirect: "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    reason: "ArtifactFetchFailed",
    message: /redirect from http:\/\/127\.0\.0\.1:\d+\/\S+: destination 169\.254\.169\.254 is a cloud metadata address/,
  },
  {
    id: "digest",
    name: "a published digest that does not match the bytes",
    content: id => ({ entries: [settings(id)] }),
    opts: { digest: `sha256:${"0".repeat(64)}` },
    reason: "ArtifactVerificationFailed",
    message: /digest mismatch: expected sha256:0{64}, the bytes downloaded hash to sha256:[0-9a-f]{12}\.\.\.$/,
  },
  {
    id: "tampered",
    name: "bytes swapped at the URL after publishing",
    content: id => ({ entries: [settings(id)] }),
    tamper: id => tarGz([settings(id), { name: "b-extra.yaml", body: configMap(`${id}-extra`) }]),
    reason: "ArtifactVerificationFailed",
    message: /(size|digest) mismatch: expected/,
  },
  {
    id: "truncated",
    name: "a truncated gzip stream",
    content: id => {
      const whole = tarGz([settings(id), { name: "b-more.yaml", body: configMap(`${id}-more`) }]);
      return { raw: whole.subarray(0, Math.floor(whole.length / 2)) };
    },
    reason: "ArtifactExtractionFailed",
    message: /gzip stream is truncated/,
  },
  {
    id: "one-file-bomb",
    name: "a decompression bomb in one entry that declares 1 GiB",
    content: () => ({ raw: oneFileBomb() }),
    reason: "ArtifactExtractionFailed",
    message: /archive entry "zeros\.yaml": 1073741824 bytes \(1 GiB\) is over the per-file cap of .* \(maxFileBytes\)/,
  },
  {
    id: "bomb",
    name: "a decompression bomb over the 100 MiB cap",
    content: () => ({ raw: bomb() }),
    reason: "ArtifactExtractionFailed",
    // Refused at the header that crosses the cap, before that entry's data is inflated.
    message: /archive entry "zeros-10\.yaml": the extracted contents exceed the total cap of 104857600 bytes \(100 MiB\) \(maxExtractedBytes\)/,
  },
  {
    id: "traversal",
    name: "an entry named ../x.yaml",
    content: id => ({ entries: [settings(id), { name: "../x.yaml", body: configMap(`${id}-x`) }] }),
    reason: "ArtifactExtractionFailed",
    message: /archive entry "\.\.\/x\.yaml": .*path traversal/,
  },
  {
    id: "symlink",
    name: "a symbolic link entry",
    content: id => ({ entries: [settings(id), { name: "passwd.yaml", type: "symlink", target: "/etc/passwd" }] }),
    reason: "ArtifactExtractionFailed",
    message: /archive entry "passwd\.yaml": it is a symbolic link/,
  },
  {
    id: "hardlink",
    name: "a hard link entry",
    content: id => ({ entries: [settings(id), { name: "copy.yaml", type: "hardlink", target: "a-settings.yaml" }] }),
    reason: "ArtifactExtractionFailed",
    message: /archive entry "copy\.yaml": it is a hard link/,
  },
  {
    id: "device",
    name: "a character device entry",
    content: id => ({ entries: [settings(id), { name: "tty.yaml", type: "chardev" }] }),
    reason: "ArtifactExtractionFailed",
    message: /archive entry "tty\.yaml": it is a character device/,
  },
  {
    id: "yaml",
    name: "a file that is not valid YAML",
    content: id => ({ entries: [settings(id), { name: "broken.yaml", body: brokenYaml }] }),
    reason: "ManifestInvalid",
    message: /broken\.yaml.*invalid YAML at line 7/,
  },
  {
    id: "nokind",
    name: "an object without kind",
    content: id => ({ entries: [settings(id), { name: "nokind.yaml", body: `apiVersion: v1\nmetadata: { name: ${id}-nokind }\ndata: { a: b }\n` }] }),
    reason: "ManifestInvalid",
    message: /nokind\.yaml.*missing "kind"/,
  },
  {
    id: "noname",
    name: "an object without metadata.name",
    content: id => ({ entries: [settings(id), { name: "noname.yaml", body: "apiVersion: v1\nkind: ConfigMap\nmetadata: { labels: { tier: web } }\ndata: { a: b }\n" }] }),
    reason: "ManifestInvalid",
    message: /noname\.yaml.*ConfigMap is missing "metadata\.name"/,
  },
];

describe("a bad artifact in the first stage", () => {
  it.concurrent.for(badArtifacts)("$name: $reason, and neither it nor the next stage applies anything", async (row, { expect }) => {
    const ss = row.id;
    const bad = await publish(ss, "config", row.content(ss), row.opts);
    if (row.tamper) env.artifacts.tamper(bad.url, row.tamper(ss));
    if (row.redirect) env.artifacts.redirect(bad.url, row.redirect);
    await publish(ss, "app", { files: { "app.yaml": configMap(`${ss}-app`) } });
    await createStageSet(ss, ["config", "app"]);

    const failed = await eventually(() => read(ss), failedWith(row.reason), { what: `${ss}: Ready=False ${row.reason}` });
    expectStageFailed(expect, failed, "config", row.message);
    await holdStill();
    const later = await read(ss);
    expect(readyOf(later)).toMatchObject({ status: "False", reason: row.reason });
    expect(stage(later, "app")?.phase ?? "Pending").toBe("Pending");
    expect(stage(later, "app")?.lastAppliedTime).toBeUndefined();
    expect(await members(ss)).toEqual([]);
    expect(await uids([`${ss}-settings`, `${ss}-app`])).toEqual({ [`${ss}-settings`]: undefined, [`${ss}-app`]: undefined });
  });
});

describe("bad objects and bad revisions", () => {
  it("a kind the API server does not serve fails UnknownKind, naming the object; its stage's ConfigMap is not applied", async () => {
    await publish("unknown", "config", { files: { "a-settings.yaml": configMap("unknown-settings"), "gadget.yaml": gadget } });
    await publish("unknown", "app", { files: { "app.yaml": configMap("unknown-app") } });
    await createStageSet("unknown", ["config", "app"]);

    const failed = await eventually(() => read("unknown"), failedWith("UnknownKind"), { what: "Ready=False UnknownKind" });
    expectStageFailed(expect, failed, "config", /Gadget\/probe \(gadgets\.bad-input\.example\.com\/v1\)/);
    await holdStill();
    expect(readyOf(await read("unknown"))?.reason).toBe("UnknownKind");
    expect(await members("unknown")).toEqual([]);
    expect(await uids(["unknown-settings", "unknown-app"])).toEqual({ "unknown-settings": undefined, "unknown-app": undefined });
  });

  it("the same object in two stages fails DuplicateObject, and neither stage applies anything", async () => {
    await publish("dup", "first", { files: { "a.yaml": configMap("dup-a"), "shared.yaml": configMap("dup-shared", "blue") } });
    await publish("dup", "second", { files: { "b.yaml": configMap("dup-b"), "shared.yaml": configMap("dup-shared", "green") } });
    await createStageSet("dup", ["first", "second"]);

    const failed = await eventually(() => read("dup"), failedWith("DuplicateObject"), { what: "Ready=False DuplicateObject" });
    expect(readyOf(failed)?.message).toMatch(/ConfigMap\/\S*dup-shared is in stages first and second/);
    const failedStages = (failed.status?.stages ?? []).filter(s => s.phase === "Failed");
    expect.soft(failedStages.map(s => s.name), "at least one of the claiming stages is Failed").not.toEqual([]);
    for (const s of failedStages) expect(s.message).toMatch(/ConfigMap\/\S*dup-shared/);
    expect((failed.status?.stages ?? []).filter(s => s.phase === "Ready")).toEqual([]);
    await holdStill();
    expect(await members("dup")).toEqual([]);
    expect(await uids(["dup-a", "dup-b", "dup-shared"])).toEqual({ "dup-a": undefined, "dup-b": undefined, "dup-shared": undefined });
  });

  it("an empty artifact fails ManifestInvalid, and the stage's objects from the good revision are not pruned", async () => {
    const v1 = await publish("empty", "config", { files: { "a.yaml": configMap("empty-a"), "b.yaml": configMap("empty-b") } });
    await publish("empty", "app", { files: { "app.yaml": configMap("empty-app") } });
    await createStageSet("empty", ["config", "app"]);
    await eventually(() => read("empty"), ready, { what: "Ready at the first revision" });
    const before = await uids(["empty-a", "empty-b", "empty-app"]);
    expect(Object.values(before).every(Boolean)).toBe(true);

    const v2 = await publish("empty", "config", { entries: [] }, { label: "empty" });
    const failed = await eventually(() => read("empty"), failedWith("ManifestInvalid"), { what: "Ready=False ManifestInvalid" });
    expect(readyOf(failed)?.message).toContain(v2.revision);
    expectStageFailed(expect, failed, "config", /path "[^"]*": no manifests/);
    await holdStill();
    expect(await uids(["empty-a", "empty-b", "empty-app"])).toEqual(before);
    expect(await members("empty")).toEqual(["empty-a", "empty-app", "empty-b"]);
    expect((await read("empty")).status?.lastAppliedRevisions?.config).toBe(v1.revision);
  });

  it("nothing is lost: a bad revision after a good one reports the failure and leaves every object of the good one", async () => {
    const v1 = await publish("keep", "config", { files: { "a.yaml": configMap("keep-a", "blue"), "b.yaml": configMap("keep-b") } });
    await publish("keep", "app", { files: { "app.yaml": configMap("keep-app") } });
    await createStageSet("keep", ["config", "app"]);
    await eventually(() => read("keep"), ready, { what: "Ready at the first revision" });
    const before = await uids(["keep-a", "keep-b", "keep-app"]);

    // v2 changes keep-a, drops keep-b, adds keep-c, and has one file (sorted last) that does not parse.
    const v2 = await publish("keep", "config", { files: { "a.yaml": configMap("keep-a", "green"), "c.yaml": configMap("keep-c"), "z-broken.yaml": brokenYaml } });
    const failed = await eventually(() => read("keep"), failedWith("ManifestInvalid"), { what: "Ready=False ManifestInvalid" });
    expect(readyOf(failed)?.message).toContain(v2.revision);
    expectStageFailed(expect, failed, "config", /z-broken\.yaml.*invalid YAML at line 7/);
    await holdStill();
    expect(await uids(["keep-a", "keep-b", "keep-app"])).toEqual(before);
    expect((await getConfigMap("keep-a"))?.data).toEqual({ color: "blue" });
    expect(await getConfigMap("keep-c")).toBeUndefined();
    expect((await read("keep")).status?.lastAppliedRevisions?.config).toBe(v1.revision);
  });

  it("an artifact server that is down fails ArtifactFetchFailed, and the StageSet recovers on its own once it is back", async () => {
    const flaky = await startArtifactServer();
    try {
      const config = await publish("down", "config", { files: { "settings.yaml": configMap("down-settings") } }, {}, flaky);
      await publish("down", "app", { files: { "app.yaml": configMap("down-app") } }, {}, flaky);
      flaky.setDown(true);
      // Retries back off exponentially up to retryInterval: capped at 2 s, the wait for the
      // recovery below is bounded by that cap, not by how many retries a loaded machine made.
      const retryCapMs = 2_000;
      await createStageSet("down", ["config", "app"], { retryInterval: `${retryCapMs / 1000}s` });

      const failed = await eventually(() => read("down"), failedWith("ArtifactFetchFailed"), { what: "Ready=False ArtifactFetchFailed" });
      expectStageFailed(expect, failed, "config", /HTTP 503/);
      const path = new URL(config.url).pathname;
      await eventually(async () => flaky.hits.get(path) ?? 0, n => n >= 2, { what: "a retry while the server is down" });
      expect(await members("down")).toEqual([]);

      // No watch event follows: only the engine's own backoff can bring it back.
      flaky.setDown(false);
      // The next retry comes within one cap (plus jitter); then two stages apply and go Ready.
      const recovered = await eventually(() => read("down"), ready, { what: "Ready after the server is back", timeoutMs: 2 * retryCapMs + 30_000 });
      expect(recovered.status?.stages?.map(s => [s.name, s.phase])).toEqual([["config", "Ready"], ["app", "Ready"]]);
      expect(await members("down")).toEqual(["down-app", "down-settings"]);
    } finally {
      await flaky.stop();
    }
  });
});
