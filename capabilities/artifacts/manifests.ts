// The objects of one stage: every manifest under the stage's path, checked to be an object
// the API server could accept, each with its source so that later errors can name it.
import { ManifestError } from "../api";
import { filesUnder, stageDirectory, StagePathError } from "./stage-path";
import { defaultLimits } from "./limits";
import type { ArchiveFiles } from "./untar";
import { yamlDocuments, type YamlDocument } from "./yaml-documents";

export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** Where an object came from: the file, the 0-based document, and the `items` index in a List. */
export interface ManifestSource {
  file: string;
  document: number;
  item?: number;
}

export interface ParsedObject {
  object: ManifestObject;
  source: ManifestSource;
}

const manifestExtensions = [".yaml", ".yml", ".json"];

/** Files a stage (or an action's path) can read: extraction keeps these and drops the rest. */
export const isManifestFile = (path: string) => manifestExtensions.some(ext => path.endsWith(ext));

/**
 * Parses the `.yaml`, `.yml` and `.json` files under `path`, in path order, documents in file
 * order. Throws rather than return a partial set: a stage whose manifests do not all parse must
 * apply nothing and prune nothing. For the same reason an empty set is an error, because
 * applying an empty stage would prune everything it owns.
 */
export function parseManifests(files: ArchiveFiles, path = "./", allowFile = false, maxNodes = defaultLimits.maxManifestNodes): ParsedObject[] {
  const dir = stageDirectory(path);
  const manifests = filesUnder(files, dir, path, allowFile).filter(([name]) => isManifestFile(name));
  if (manifests.length === 0) throw new StagePathError(path, "no manifests (.yaml, .yml or .json files) under this path in the artifact");
  const nodes = manifests.reduce((n, [, content]) => n + structuralCharacters(content), 0);
  if (nodes > maxNodes) {
    throw new StagePathError(path, `its manifests may hold ${nodes} YAML nodes (lines and , : [ { counted), over the limit of ${maxNodes} per stage (STAGESET_MAX_MANIFEST_NODES); parsing that much would hold up the controller: split the stage, or raise the limit`);
  }
  const objects: ParsedObject[] = [];
  for (const [file, content] of manifests) {
    for (const doc of yamlDocuments(file, content)) objects.push(...documentObjects(file, doc));
  }
  if (objects.length === 0) throw new StagePathError(path, "the manifests under this path define no objects");
  rejectDuplicates(objects);
  return objects;
}

// Every YAML node starts a line or follows one of , : [ { so their count bounds the nodes
// (a ":" or "," inside a string counts too: the bound errs high, never low).
const structural = new Uint8Array(256);
for (const c of "\n,:[{") structural[c.charCodeAt(0)] = 1;

function structuralCharacters(content: Uint8Array): number {
  let n = 1;
  for (const byte of content) n += structural[byte]!;
  return n;
}

/** `deploy/app.yaml (document 2)`, `… items[3]` for a List member: for error messages. */
export function describeSource(source: ManifestSource): string {
  const item = source.item === undefined ? "" : `, items[${source.item}]`;
  return `${source.file} (document ${source.document + 1}${item})`;
}

// A `v1 List` is a client-side container (kubectl and Flux unwrap it); it is never applied.
function documentObjects(file: string, doc: YamlDocument): ParsedObject[] {
  const fail = (detail: string) => new ManifestError(file, `${detail} (document starts at line ${doc.line})`, doc.index);
  const value = doc.value;
  if (!isRecord(value) || value.apiVersion !== "v1" || value.kind !== "List") {
    return [{ object: manifestObject(value, "", fail), source: { file, document: doc.index } }];
  }
  if (!Array.isArray(value.items)) throw fail(`List has no "items" array`);
  return value.items.map((item: unknown, i) => {
    const where = `items[${i}]: `;
    if (isRecord(item) && item.apiVersion === "v1" && item.kind === "List") throw fail(`${where}a List inside a List is not supported`);
    return { object: manifestObject(item, where, fail), source: { file, document: doc.index, item: i } };
  });
}

function manifestObject(value: unknown, where: string, fail: (detail: string) => ManifestError): ManifestObject {
  if (!isRecord(value)) throw fail(`${where}expected a mapping (an object with apiVersion, kind and metadata), got ${typeName(value)}`);
  for (const field of ["apiVersion", "kind"] as const) {
    const v = value[field];
    if (v === undefined) throw fail(`${where}missing "${field}"`);
    if (typeof v !== "string" || v === "") throw fail(`${where}"${field}" must be a non-empty string, got ${typeName(v)}`);
  }
  const kind = String(value.kind);
  const metadata = value.metadata;
  if (metadata === undefined) throw fail(`${where}${kind} is missing "metadata.name"`);
  if (!isRecord(metadata)) throw fail(`${where}${kind}: "metadata" must be a mapping, got ${typeName(metadata)}`);
  if (metadata.name === undefined) {
    const hint = metadata.generateName === undefined ? "" : " (generateName cannot be used with server-side apply)";
    throw fail(`${where}${kind} is missing "metadata.name"${hint}`);
  }
  if (typeof metadata.name !== "string" || metadata.name === "") {
    throw fail(`${where}${kind}: "metadata.name" must be a non-empty string, got ${typeName(metadata.name)}`);
  }
  if (metadata.namespace !== undefined && typeof metadata.namespace !== "string") {
    throw fail(`${where}${kind}/${metadata.name}: "metadata.namespace" must be a string, got ${typeName(metadata.namespace)}`);
  }
  return value as ManifestObject;
}

// Identity as the API server sees it: group (not version), kind, namespace, name. Two files
// defining one object would race each other, and which one wins would depend on file order.
function rejectDuplicates(objects: ParsedObject[]): void {
  const seen = new Map<string, ParsedObject>();
  for (const parsed of objects) {
    const { apiVersion, kind, metadata } = parsed.object;
    const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
    const id = `${group}/${kind}/${metadata.namespace ?? ""}/${metadata.name}`;
    const first = seen.get(id);
    if (first) {
      const what = `${kind}/${metadata.name}${metadata.namespace ? ` in namespace ${metadata.namespace}` : ""}`;
      const item = parsed.source.item === undefined ? "" : `items[${parsed.source.item}]: `;
      throw new ManifestError(parsed.source.file, `${item}${what} is also defined in ${describeSource(first.source)}; an object may appear only once in a stage`, parsed.source.document);
    }
    seen.set(id, parsed);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a sequence";
  if (typeof v === "object") return "a mapping";
  const text = JSON.stringify(v) ?? String(v);
  return `${typeof v} ${text.length > 64 ? `${text.slice(0, 61)}...` : text}`;
}
