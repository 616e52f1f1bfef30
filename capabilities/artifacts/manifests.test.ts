// Parsing a stage: which files count, how YAML is read, and every way a manifest set is refused
// (each refusal names the file, document or field, because nothing of the stage is applied).
import { describe, expect, it } from "vitest";
import { ManifestError, Reason, StageSetError } from "../api";
import { describeSource, parseManifests, StagePathError, type ArchiveFiles } from "./index";

type Tree = Record<string, string | Buffer>;
interface Accepted {
  name: string;
  tree: Tree;
  path: string | undefined;
  objects: string[];
}
interface Refused {
  name: string;
  tree: Tree;
  path: string;
  type: typeof ManifestError | typeof StagePathError;
  message: RegExp;
}

const files = (tree: Tree): ArchiveFiles =>
  new Map(Object.entries(tree).map(([k, v]) => [k, Buffer.from(v)]));
const cm = (name: string, extra = "") => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${extra}`;
const deploy = (name: string, ns = "shop") => `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n`;

describe("parseManifests accepts", () => {
  it.each<Accepted>([
    { name: "one file, default path", tree: { "a.yaml": cm("a") }, path: undefined, objects: ["a.yaml#0 ConfigMap/a"] },
    {
      name: "files sorted by path, documents in order, empty and null documents skipped",
      tree: { "b.yml": `${cm("b1")}---\n---\nnull\n---\n${cm("b2")}`, "a/z.json": '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"}}', "a.yaml": cm("a") },
      path: "./",
      objects: ["a.yaml#0 ConfigMap/a", "a/z.json#0 Secret/s", "b.yml#0 ConfigMap/b1", "b.yml#3 ConfigMap/b2"],
    },
    { name: ".txt and other files ignored", tree: { "README.txt": "not: [yaml", "a.yaml": cm("a"), "Chart.lock": "x" }, path: "./", objects: ["a.yaml#0 ConfigMap/a"] },
    { name: "a subdirectory, recursively", tree: { "crds/c.yaml": cm("c"), "app/web/d.yaml": deploy("web"), "app/e.yaml": cm("e") }, path: "./app/", objects: ["app/e.yaml#0 ConfigMap/e", "app/web/d.yaml#0 Deployment/web"] },
    { name: "a path without ./ and a leading / mean the same directory", tree: { "app/e.yaml": cm("e") }, path: "/app", objects: ["app/e.yaml#0 ConfigMap/e"] },
    { name: "a sibling with the same prefix is not under the path", tree: { "app/e.yaml": cm("e"), "apps/f.yaml": cm("f") }, path: "app", objects: ["app/e.yaml#0 ConfigMap/e"] },
    {
      name: "a v1 List expanded to its items",
      tree: { "list.yaml": `apiVersion: v1\nkind: List\nitems:\n- ${cm("one").replace(/\n(?=.)/g, "\n  ")}- ${cm("two").replace(/\n(?=.)/g, "\n  ")}` },
      path: "./",
      objects: ["list.yaml#0[0] ConfigMap/one", "list.yaml#0[1] ConfigMap/two"],
    },
    { name: "the same name in two namespaces", tree: { "a.yaml": deploy("web", "a"), "b.yaml": deploy("web", "b") }, path: "./", objects: ["a.yaml#0 Deployment/web", "b.yaml#0 Deployment/web"] },
    { name: "the same name as two kinds", tree: { "a.yaml": `${cm("x")}---\napiVersion: v1\nkind: Secret\nmetadata: {name: x}\n` }, path: "./", objects: ["a.yaml#0 ConfigMap/x", "a.yaml#1 Secret/x"] },
  ])("$name", ({ tree, path, objects }) => {
    const got = parseManifests(files(tree), path);
    expect(got.map(o => `${o.source.file}#${o.source.document}${o.source.item === undefined ? "" : `[${o.source.item}]`} ${o.object.kind}/${o.object.metadata.name}`)).toEqual(objects);
  });

  it("reads scalars as Flux does: 0644 is octal, yes stays a string, merge keys work", () => {
    const [got] = parseManifests(files({ "a.yaml": cm("a", "base: &b {x: '1'}\ndata:\n  <<: *b\n  on: yes\nmode: 0644\nport: 08080\n") }));
    expect(got?.object).toMatchObject({ data: { x: "1", on: "yes" }, mode: 0o644, port: 8080 });
  });

  it("names an object's source for later errors", () => {
    expect(describeSource({ file: "deploy/list.yaml", document: 1, item: 3 })).toBe("deploy/list.yaml (document 2, items[3])");
  });
});

describe("parseManifests refuses", () => {
  it.each<Refused>([
    { name: "invalid YAML", tree: { "ok.yaml": cm("ok"), "bad.yaml": `${cm("a")}---\nkind: [\n` }, path: "./", type: ManifestError, message: /^bad\.yaml \(document 2\): invalid YAML at line 7, column \d+: / },
    { name: "a duplicate key", tree: { "a.yaml": `${cm("a")}metadata: {}\n` }, path: "./", type: ManifestError, message: /^a\.yaml \(document 1\): invalid YAML at line 5, column 1: Map keys must be unique$/ },
    { name: "missing kind", tree: { "a.yaml": `${cm("ok")}---\napiVersion: v1\nmetadata: {name: x}\n` }, path: "./", type: ManifestError, message: /^a\.yaml \(document 2\): missing "kind" \(document starts at line 6\)$/ },
    { name: "missing apiVersion", tree: { "a.yaml": "kind: ConfigMap\nmetadata: {name: x}\n" }, path: "./", type: ManifestError, message: /^a\.yaml \(document 1\): missing "apiVersion"/ },
    { name: "missing name", tree: { "a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: shop}\n" }, path: "./", type: ManifestError, message: /^a\.yaml \(document 1\): ConfigMap is missing "metadata\.name" \(document starts at line 1\)$/ },
    { name: "generateName", tree: { "a.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {generateName: job-}\n" }, path: "./", type: ManifestError, message: /Pod is missing "metadata\.name" \(generateName cannot be used with server-side apply\)/ },
    { name: "missing metadata", tree: { "a.yaml": "apiVersion: v1\nkind: ConfigMap\n" }, path: "./", type: ManifestError, message: /ConfigMap is missing "metadata\.name"/ },
    { name: "a name that is not a string", tree: { "a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: 42}\n" }, path: "./", type: ManifestError, message: /ConfigMap: "metadata\.name" must be a non-empty string, got number 42/ },
    { name: "a kind that is not a string", tree: { "a.yaml": "apiVersion: v1\nkind: [a]\nmetadata: {name: x}\n" }, path: "./", type: ManifestError, message: /"kind" must be a non-empty string, got a sequence/ },
    { name: "a document that is a sequence", tree: { "a.yaml": "- a\n- b\n" }, path: "./", type: ManifestError, message: /^a\.yaml \(document 1\): expected a mapping .*, got a sequence/ },
    { name: "a document that is a scalar", tree: { "a.json": '"hello"' }, path: "./", type: ManifestError, message: /^a\.json \(document 1\): expected a mapping .*, got string "hello"/ },
    { name: "a bad List item", tree: { "l.yaml": `apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap}\n` }, path: "./", type: ManifestError, message: /^l\.yaml \(document 1\): items\[0\]: ConfigMap is missing "metadata\.name"/ },
    { name: "a List without items", tree: { "l.yaml": "apiVersion: v1\nkind: List\n" }, path: "./", type: ManifestError, message: /List has no "items" array/ },
    { name: "a duplicate object across two files", tree: { "a.yaml": deploy("web"), "b/c.yaml": `${cm("x")}---\n${deploy("web")}` }, path: "./", type: ManifestError, message: /^b\/c\.yaml \(document 2\): Deployment\/web in namespace shop is also defined in a\.yaml \(document 1\)/ },
    { name: "a duplicate across API versions", tree: { "a.yaml": "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\n", "b.yaml": "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\n" }, path: "./", type: ManifestError, message: /^b\.yaml \(document 1\): HorizontalPodAutoscaler\/h is also defined in a\.yaml/ },
    { name: "invalid UTF-8", tree: { "a.yaml": Buffer.from([0x6b, 0x3a, 0x20, 0xff, 0xfe]) }, path: "./", type: ManifestError, message: /^a\.yaml: is not valid UTF-8 text$/ },
    { name: "an alias bomb", tree: { "a.yaml": `a: &a [x,x,x,x,x,x,x,x,x,x]\n${Array.from({ length: 8 }, (_, i) => `${"bcdefghi"[i]}: &${"bcdefghi"[i]} [${Array(10).fill(`*${"abcdefgh"[i]}`).join(",")}]`).join("\n")}\n` }, path: "./", type: ManifestError, message: /^a\.yaml \(document 1\): invalid YAML: Excessive alias count/ },
    { name: "an empty artifact", tree: {}, path: "./", type: StagePathError, message: /^path "\.\/": no manifests \(\.yaml, \.yml or \.json files\) under this path in the artifact$/ },
    { name: "only non-manifest files", tree: { "README.md": "# hi" }, path: "./", type: StagePathError, message: /^path "\.\/": no manifests/ },
    { name: "only empty documents", tree: { "a.yaml": "---\n# nothing\n---\n", "b.json": "null" }, path: "./", type: StagePathError, message: /^path "\.\/": the manifests under this path define no objects$/ },
    { name: "a path not in the artifact", tree: { "app/a.yaml": cm("a") }, path: "./missing", type: StagePathError, message: /^path "\.\/missing": no such directory in the artifact$/ },
    { name: "a path that is a file", tree: { "app/a.yaml": cm("a") }, path: "app/a.yaml", type: StagePathError, message: /^path "app\/a\.yaml": is a file in the artifact, not a directory$/ },
    { name: "path ../", tree: { "a.yaml": cm("a") }, path: "../", type: StagePathError, message: /^path "\.\.\/": "\.\." is not allowed; the path must stay inside the artifact$/ },
    { name: "path a/../../b", tree: { "a.yaml": cm("a") }, path: "a/../../b", type: StagePathError, message: /^path "a\/\.\.\/\.\.\/b": "\.\." is not allowed/ },
    { name: "a backslash in the path", tree: { "a.yaml": cm("a") }, path: "app\\web", type: StagePathError, message: /^path "app\\\\web": backslashes are not allowed/ },
  ])("$name", ({ tree, path, type, message }) => {
    let err: unknown;
    try {
      parseManifests(files(tree), path);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(type);
    expect((err as StageSetError).reason).toBe(Reason.ManifestInvalid);
    expect((err as StageSetError).message).toMatch(message);
  });
});

describe("the parse budget (a tenant's manifests must not hold up the controller)", () => {
  const keys = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `  k${i + from}: v`).join("\n");
  const big = (n: number) => `${cm("big")}data:\n${keys(n)}\n`;

  it("refuses a stage whose manifests may hold more nodes than the limit, before parsing, naming path and limit", () => {
    const started = performance.now();
    const err = (() => {
      try {
        parseManifests(files({ "deploy/a.yaml": big(60), "deploy/b.yaml": cm("b") }), "deploy", false, 100);
      } catch (e) {
        return e as StageSetError;
      }
    })();
    expect(err).toBeInstanceOf(StagePathError);
    expect(err?.reason).toBe(Reason.ManifestInvalid);
    expect(err?.message).toMatch(/^path "deploy": its manifests may hold 1\d\d YAML nodes \(lines and , : \[ \{ counted\), over the limit of 100 per stage \(STAGESET_MAX_MANIFEST_NODES\)/);
    expect(performance.now() - started).toBeLessThan(100);
  });

  it.each([
    { name: "flow maps nested on one line", text: `${cm("x")}data: ${"{a: ".repeat(200)}b${"}".repeat(200)}\n` },
    { name: "a flow list on one line", text: `${cm("x")}data: {k: [${Array(200).fill("1").join(", ")}]}\n` },
  ])("counts $name, not only lines", ({ text }) => {
    expect(() => parseManifests(files({ "a.yaml": text }), "./", false, 150)).toThrow(/over the limit of 150 per stage/);
  });

  it("finds a duplicate key in a map of 100,000 keys, in time linear in the keys (the library's own check is quadratic: minutes on 900,000)", () => {
    const refusal = (n: number) => {
      const text = `${cm("dup")}data:\n${keys(n)}\n  k5: again\n`;
      const started = performance.now();
      expect(() => parseManifests(files({ "a.yaml": text }), "./", false, 1_000_000)).toThrow(new RegExp(`^a\\.yaml \\(document 1\\): invalid YAML at line ${n + 6}, column 3: Map keys must be unique$`));
      return performance.now() - started;
    };
    // A ratio of times in one run, best of three each, so a busy machine cannot fail it:
    // ten times the keys costs about ten times as long when linear, a hundred when quadratic.
    const best = (n: number) => Math.min(refusal(n), refusal(n), refusal(n));
    const small = best(10_000);
    const large = best(100_000);
    console.log(`a map with one duplicate key: 10,000 keys refused in ${small.toFixed(0)} ms, 100,000 in ${large.toFixed(0)} ms (x${(large / small).toFixed(1)})`);
    expect(large / small).toBeLessThan(40);
  }, 120_000);
});
