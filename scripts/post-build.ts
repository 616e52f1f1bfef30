// Adds to Pepr's build output what Pepr does not generate: the StageSet CRD, and our chart
// templates (the gate and metrics Services, the NetworkPolicy) with their values. The chart
// gets the templates as they are; the plain YAML gets them rendered with the default values.
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import cfg from "../package.json";
import { renderTemplate } from "./chart-templates";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const manifest = join(dist, `pepr-module-${cfg.pepr.uuid}.yaml`);
const chart = join(dist, `${cfg.pepr.uuid}-chart`);
const ours = join(root, "deploy/chart");

for (const p of [manifest, chart]) if (!existsSync(p)) throw new Error(`${p} is missing: run npx pepr build first`);

const crds = readdirSync(join(root, "crds")).filter(f => f.endsWith(".yaml")).map(f => join(root, "crds", f));
const templates = readdirSync(join(ours, "templates")).filter(f => f.endsWith(".yaml"));
const valuesText = readFileSync(join(ours, "values.yaml"), "utf8");
const values = parse(valuesText) as Record<string, unknown>;

// Plain YAML: CRDs first (kubectl applies in order), then Pepr's objects, then ours. The
// extras alone, for `npx pepr deploy` (which applies only what Pepr generates).
const extras = [...crds.map(f => readFileSync(f, "utf8")), ...templates.map(t => renderTemplate(readFileSync(join(ours, "templates", t), "utf8"), values, t))];
const joined = (docs: string[]) => docs.map(d => d.trim()).filter(Boolean).join("\n---\n") + "\n";
writeFileSync(manifest, joined([...extras.slice(0, crds.length), readFileSync(manifest, "utf8"), ...extras.slice(crds.length)]));
writeFileSync(join(dist, "stageset-extras.yaml"), joined(extras));

// Chart: CRDs in crds/ (Helm installs them before templates), our templates, our values.
mkdirSync(join(chart, "crds"), { recursive: true });
for (const f of crds) copyFileSync(f, join(chart, "crds", f.split("/").at(-1)!));
for (const t of templates) copyFileSync(join(ours, "templates", t), join(chart, "templates", t));
const chartValues = join(chart, "values.yaml");
writeFileSync(chartValues, `${readFileSync(chartValues, "utf8").trimEnd()}\n\n${valuesText}`);

console.log(`added ${crds.length} CRD(s) and ${templates.length} template(s) to ${manifest.slice(root.length + 1)} and ${chart.slice(root.length + 1)}/; the same alone in dist/stageset-extras.yaml`);
