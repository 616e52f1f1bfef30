// One manifest file to plain JS documents. YAML is read the way Flux's kustomize-controller
// reads it, so that a manifest means the same thing here as it does under a Flux Kustomization.
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type ScalarTag } from "yaml";
import { ManifestError } from "../api";

export interface YamlDocument {
  /** 0-based position in the file, counting empty documents too. */
  index: number;
  /** 1-based line where the document's content starts. */
  line: number;
  value: unknown;
}

// go-yaml v3 (kustomize's parser) still reads `0644` as octal, as YAML 1.1 did; the YAML 1.2
// core schema would read 644. `defaultMode: 0644` is common in manifests, so keep the Go meaning.
// See go-yaml v3 resolve.go: "Octals from the 1.1 spec, spelled as 0777, are still decoded".
const legacyOctal: ScalarTag = {
  identify: v => typeof v === "number" && Number.isInteger(v),
  default: true,
  tag: "tag:yaml.org,2002:int",
  format: "OCT",
  test: /^[-+]?0[0-7]+$/,
  resolve: s => parseInt(s, 8),
};

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Parses every document of one file. Empty and `null` documents are left out. */
export function yamlDocuments(file: string, content: Uint8Array): YamlDocument[] {
  const text = decode(file, content);
  const lineCounter = new LineCounter();
  // uniqueKeys is checked below, in one pass: the library's own check compares every pair of
  // keys, so one map of many keys took minutes (a tenant's way to stall the controller).
  const docs = parseAllDocuments(text, {
    lineCounter,
    merge: true,
    uniqueKeys: false,
    customTags: tags => [legacyOctal, ...tags],
  });
  const out: YamlDocument[] = [];
  docs.forEach((doc, index) => {
    const [error] = doc.errors;
    if (error) {
      const at = error.linePos?.[0];
      const where = at ? `line ${at.line}, column ${at.col}` : "an unknown position";
      throw new ManifestError(file, `invalid YAML at ${where}: ${firstLine(error.message)}`, index);
    }
    const duplicate = firstDuplicateKey(doc.contents);
    if (duplicate !== undefined) {
      const at = lineCounter.linePos(duplicate);
      throw new ManifestError(file, `invalid YAML at line ${at.line}, column ${at.col}: Map keys must be unique`, index);
    }
    const value = documentValue(file, index, () => doc.toJS({ maxAliasCount: 100 }));
    if (value === null || value === undefined) return;
    const start = doc.contents?.range[0] ?? 0;
    out.push({ index, line: lineCounter.linePos(start).line, value });
  });
  return out;
}

/** Where the first scalar key that repeats in its map starts (merge keys aside), depth first. */
function firstDuplicateKey(root: unknown): number | undefined {
  const stack: unknown[] = [root];
  while (stack.length) {
    const node = stack.pop();
    if (isSeq(node)) stack.push(...[...node.items].reverse());
    if (!isMap(node)) continue;
    const seen = new Set<unknown>();
    for (const pair of node.items) {
      const key = pair.key;
      if (isScalar(key) && key.value !== "<<") {
        if (seen.has(key.value)) return key.range?.[0];
        seen.add(key.value);
      }
    }
    for (let i = node.items.length - 1; i >= 0; i--) stack.push(node.items[i]!.value);
  }
  return undefined;
}

// maxAliasCount bounds alias expansion, so a "billion laughs" document fails instead of
// exhausting memory; that, and an alias to nothing, surface here rather than as syntax errors.
function documentValue(file: string, index: number, toJS: () => unknown): unknown {
  try {
    return toJS();
  } catch (err) {
    throw new ManifestError(file, `invalid YAML: ${err instanceof Error ? err.message : String(err)}`, index);
  }
}

function decode(file: string, content: Uint8Array): string {
  try {
    return utf8.decode(content).replace(/^\uFEFF/, "");
  } catch {
    throw new ManifestError(file, "is not valid UTF-8 text");
  }
}

// yaml's messages end in " at line L, column C:" and a source excerpt; we report the position
// ourselves, on one line.
function firstLine(message: string): string {
  return (message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
}
