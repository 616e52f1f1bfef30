// Generates docs/api.md, the API reference, from the StageSet CRD (the source of truth), so
// the reference cannot drift from the schema: a unit test fails when docs/api.md is stale.
// Run: npm run docs:api
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

interface Schema {
  type?: string;
  format?: string;
  description?: string;
  enum?: unknown[];
  pattern?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-validations"?: { rule: string; message?: string }[];
}

interface Row {
  path: string;
  type: string;
  required: boolean;
  description: string;
}

// A backtick inside a code span needs a longer fence around it.
const code = (s: string) => (s.includes("`") ? `\`\` ${s} \`\`` : `\`${s}\``);
const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

function typeOf(s: Schema): string {
  const parts = [s.type === "array" ? `array of ${s.items?.type ?? "any"}` : (s.type ?? "any")];
  if (s.format) parts.push(`format ${s.format}`);
  if (s.type === "object" && typeof s.additionalProperties === "object") parts[0] = `map of ${s.additionalProperties.type ?? "any"}`;
  if (s["x-kubernetes-preserve-unknown-fields"]) parts.push("free-form");
  if (s.enum) parts.push(`one of ${s.enum.map(e => `\`${String(e)}\``).join(", ")}`);
  if (s.pattern) parts.push(`pattern ${code(s.pattern)}`);
  for (const [k, label] of [["minimum", "min"], ["maximum", "max"], ["minLength", "min length"], ["maxLength", "max length"], ["minItems", "min items"], ["maxItems", "max items"]] as const) {
    if (s[k] !== undefined) parts.push(`${label} ${s[k]}`);
  }
  if (s.default !== undefined) parts.push(`default \`${JSON.stringify(s.default)}\``);
  return parts.join("; ");
}

/**
 * Every field under `s`, depth first, in schema order. A schema the CRD repeats through a YAML
 * alias (the three action lists share one action schema) is the same parsed object: its fields
 * are listed once, and later uses point back to the first.
 */
export function fieldRows(s: Schema, path: string, required: boolean, seen = new Map<Schema, string>()): Row[] {
  const validations = [...(s["x-kubernetes-validations"] ?? []), ...(s.type === "array" ? (s.items?.["x-kubernetes-validations"] ?? []) : [])];
  const rules = validations.map(v => ` Rule: \`${v.rule}\`${v.message ? ` (${v.message})` : ""}.`).join("");
  const rows: Row[] = [{ path, type: typeOf(s), required, description: `${s.description ?? ""}${rules}`.trim() }];
  const object = s.type === "array" ? s.items : s;
  const prefix = s.type === "array" ? `${path}[]` : path;
  if (!object?.properties) return rows;
  const first = seen.get(object);
  if (first) {
    rows[0]!.description = `${rows[0]!.description} Same fields as \`${first}\`.`.trim();
    return rows;
  }
  seen.set(object, prefix);
  for (const [name, child] of Object.entries(object.properties)) rows.push(...fieldRows(child, `${prefix}.${name}`, object.required?.includes(name) ?? false, seen));
  return rows;
}

function table(rows: Row[]): string {
  const lines = ["| Field | Type | Required | Description |", "|---|---|---|---|"];
  for (const r of rows) lines.push(`| \`${r.path}\` | ${cell(r.type)} | ${r.required ? "yes" : ""} | ${cell(r.description)} |`);
  return lines.join("\n");
}

export function renderApiReference(crdText: string): string {
  const crd = parse(crdText) as { spec: { group: string; scope: string; names: { kind: string; plural: string; shortNames?: string[] }; versions: { name: string; schema: { openAPIV3Schema: Schema }; additionalPrinterColumns?: { name: string; jsonPath: string; priority?: number }[] }[] } };
  const out: string[] = ["<!-- Generated from crds/stageset.dev_stagesets.yaml by `npm run docs:api`; do not edit. -->", `# ${crd.spec.names.kind} API reference`, ""];
  for (const v of crd.spec.versions) {
    const root = v.schema.openAPIV3Schema;
    out.push(`## ${crd.spec.group}/${v.name}`, "", root.description ?? "", "");
    out.push(`- Kind: \`${crd.spec.names.kind}\`, plural \`${crd.spec.names.plural}\`${crd.spec.names.shortNames ? `, short names ${crd.spec.names.shortNames.map(n => `\`${n}\``).join(", ")}` : ""}`, `- Scope: ${crd.spec.scope}`);
    if (v.additionalPrinterColumns) out.push(`- \`kubectl get\` columns: ${v.additionalPrinterColumns.map(c => `${c.name} (\`${c.jsonPath}\`${c.priority ? ", with -o wide" : ""})`).join(", ")}`);
    for (const part of ["spec", "status"]) {
      const s = root.properties?.[part];
      if (s) out.push("", `### ${part}`, "", table(fieldRows(s, part, root.required?.includes(part) ?? false).slice(1)));
    }
    out.push("");
  }
  return out.join("\n");
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(join(root, "docs/api.md"), renderApiReference(readFileSync(join(root, "crds/stageset.dev_stagesets.yaml"), "utf8")));
  console.log("wrote docs/api.md");
}
