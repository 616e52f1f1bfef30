// The YAML examples of our documentation, for tests that run them: a block marked
// `<!-- example: NAME -->` right above a yaml code fence.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Every marked example of a document, by name. */
export function docExamples(doc: string): Map<string, unknown> {
  const text = readFileSync(join(root, doc), "utf8");
  const found = new Map<string, unknown>();
  for (const m of text.matchAll(/<!-- example: ([\w-]+) -->\n```yaml\n([\s\S]*?)\n```/g)) found.set(m[1]!, parse(m[2]!));
  return found;
}

export function docExample<T = Record<string, unknown>>(doc: string, name: string): T {
  const example = docExamples(doc).get(name);
  if (example === undefined) throw new Error(`${doc} has no example named ${name}`);
  return example as T;
}
