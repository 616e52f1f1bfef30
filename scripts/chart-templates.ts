// Renders our chart templates for the plain YAML manifest, so the chart and the YAML come
// from one source. Only the subset of Helm our templates use: `{{ .Values.a.b }}`,
// `{{ if [not] .Values.a.b }}...{{ end }}` (nestable), `{{ toYaml .Values.a | nindent N }}`, and
// Helm's `{{-`/`-}}` whitespace trimming. Anything else is an error, not a guess.
import { stringify } from "yaml";

type Part = { text: string } | { action: string };

export function renderTemplate(template: string, values: Record<string, unknown>, file = "template"): string {
  const parts = split(template);
  const emitting: boolean[] = [];
  let out = "";
  for (const part of parts) {
    if ("text" in part) {
      if (emitting.every(Boolean)) out += part.text;
      continue;
    }
    const a = part.action;
    const cond = /^if (not )?(\.Values(?:\.\w+)+)$/.exec(a);
    if (cond) emitting.push(truthy(lookup(values, cond[2]!, file)) !== Boolean(cond[1]));
    else if (a === "end") {
      if (emitting.pop() === undefined) throw new Error(`${file}: {{ end }} without {{ if }}`);
    } else if (!emitting.every(Boolean)) continue;
    else out += evaluate(a, values, file);
  }
  if (emitting.length) throw new Error(`${file}: {{ if }} without {{ end }}`);
  return out;
}

function split(template: string): Part[] {
  const parts: Part[] = [];
  const re = /\{\{(-?)\s*(.*?)\s*(-?)\}\}/gs;
  let last = 0;
  let trimNext = false;
  for (const m of template.matchAll(re)) {
    let text = template.slice(last, m.index);
    if (trimNext) text = text.trimStart();
    if (m[1] === "-") text = text.trimEnd();
    parts.push({ text }, { action: m[2]! });
    trimNext = m[3] === "-";
    last = m.index! + m[0].length;
  }
  const tail = template.slice(last);
  parts.push({ text: trimNext ? tail.trimStart() : tail });
  return parts;
}

function evaluate(action: string, values: Record<string, unknown>, file: string): string {
  const value = /^(\.Values(?:\.\w+)+)$/.exec(action);
  if (value) return String(lookup(values, value[1]!, file));
  const toYaml = /^toYaml (\.Values(?:\.\w+)+) \| nindent (\d+)$/.exec(action);
  if (toYaml) {
    const pad = " ".repeat(Number(toYaml[2]));
    const lines = stringify(lookup(values, toYaml[1]!, file)).trimEnd().split("\n");
    return lines.map(l => `\n${pad}${l}`).join("");
  }
  throw new Error(`${file}: unsupported template action {{ ${action} }}`);
}

/** The value at `.Values.a.b`; an error naming the file when the values have no such key. */
export function lookup(values: Record<string, unknown>, path: string, file: string): unknown {
  let v: unknown = values;
  for (const key of path.split(".").slice(2)) {
    if (v === null || typeof v !== "object" || !(key in v)) throw new Error(`${file}: ${path} is not in the chart values`);
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

const truthy = (v: unknown) => !(v === false || v === null || v === undefined || v === 0 || v === "" || (Array.isArray(v) && v.length === 0));

/**
 * A JSON schema for a chart value, inferred from its default: objects list their keys and
 * refuse others (a misspelt value is an error, as in Pepr's own schema), lists and scalars
 * keep their type.
 */
export function schemaOf(value: unknown): Record<string, unknown> {
  if (Array.isArray(value)) return { type: "array" };
  if (value !== null && typeof value === "object") {
    return { type: "object", additionalProperties: false, properties: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, schemaOf(v)])) };
  }
  if (typeof value === "number") return { type: Number.isInteger(value) ? "integer" : "number" };
  return { type: typeof value };
}
