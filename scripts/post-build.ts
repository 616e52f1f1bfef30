// Adds to Pepr's build output what Pepr does not generate: the StageSet CRD, and our chart
// templates (the gate and metrics Services, the NetworkPolicy, the release RBAC) with their
// values and the controller settings they carry. The chart gets the templates as they are;
// the plain YAML gets them rendered with the default values (and once with lockdown values).
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isMap, parse, parseAllDocuments, parseDocument, stringify, type YAMLMap } from "yaml";
import cfg from "../package.json";
import { renderTemplate, schemaOf } from "./chart-templates";
import { watcherEnv, withWatcherSettings } from "./watcher-env";
import { adjustWatcherDeployment, adjustWatcherTemplate, type WatcherDeployment, type WatcherValues } from "./watcher-deployment";

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const manifest = join(dist, `pepr-module-${cfg.pepr.uuid}.yaml`);
const lockdownManifest = join(dist, `pepr-module-${cfg.pepr.uuid}-lockdown.yaml`);
const chart = join(dist, `${cfg.pepr.uuid}-chart`);
const ours = join(root, "deploy/chart");

for (const p of [manifest, chart]) if (!existsSync(p)) throw new Error(`${p} is missing: run npx pepr build first`);

const crds = readdirSync(join(root, "crds")).filter(f => f.endsWith(".yaml")).map(f => join(root, "crds", f));
const templates = readdirSync(join(ours, "templates")).filter(f => f.endsWith(".yaml"));
const valuesText = readFileSync(join(ours, "values.yaml"), "utf8");
const values = parse(valuesText) as Record<string, unknown>;

// Plain YAML: CRDs first (kubectl applies in order), then Pepr's objects, then ours. The
// extras alone, for `npx pepr deploy` (which applies only what Pepr generates). And the same
// manifest with the lockdown values (see README, Tenancy).
const crdTexts = crds.map(f => readFileSync(f, "utf8"));
const ourTemplates = (v: Record<string, unknown>) => templates.map(t => renderTemplate(readFileSync(join(ours, "templates", t), "utf8"), v, t));
const joined = (docs: string[]) => docs.map(d => d.trim()).filter(Boolean).join("\n---\n") + "\n";
const peprObjects = narrowPeprRole(readFileSync(manifest, "utf8"));
const lockdownValues = { ...values, tenancy: { defaultServiceAccount: "stageset-deployer", noCrossNamespaceRefs: true } };
writeFileSync(manifest, joined([...crdTexts, ...withWatcherEnv(peprObjects, values), ...ourTemplates(values)]));
// npx pepr deploy runs one watcher replica: a budget of one available pod would block every drain.
const extrasValues = { ...values, watcher: { ...(values.watcher as object), podDisruptionBudget: { enabled: false } } };
writeFileSync(join(dist, "stageset-extras.yaml"), joined([...crdTexts, ...ourTemplates(extrasValues)]));
writeFileSync(lockdownManifest, joined([...crdTexts, ...withWatcherEnv(peprObjects, lockdownValues), ...ourTemplates(lockdownValues)]));

/**
 * Pepr adds create and patch on every CRD to the controller's ClusterRole, for its one store
 * CRD (crds/pepr.dev_peprstores.yaml, installed beforehand): narrowed to a patch of that one.
 */
function narrowRules(rules: Rule[]): Rule[] {
  return rules.flatMap(r => {
    if (!r.resources?.includes("customresourcedefinitions") || !r.verbs.some(v => v === "create" || v === "patch")) return [r];
    return [{ ...r, verbs: r.verbs.filter(v => v !== "create" && v !== "patch") }, { apiGroups: ["apiextensions.k8s.io"], resources: ["customresourcedefinitions"], resourceNames: ["peprstores.pepr.dev"], verbs: ["patch"] }];
  });
}

function narrowPeprRole(text: string): string {
  return parseAllDocuments(text)
    .map(doc => {
      const o = doc.toJS() as { kind?: string; metadata?: { name?: string }; rules?: Rule[] } | null;
      // A document's own text starts with the "---" that preceded it, if any.
      if (o?.kind !== "ClusterRole" || o.metadata?.name !== `pepr-${cfg.pepr.uuid}`) return doc.toString().replace(/^---\n/, "");
      return stringify({ ...o, rules: narrowRules(o.rules ?? []) });
    })
    .join("---\n");
}

/**
 * Pepr's objects, the watcher Deployment as our values make it: its container given the env our
 * values set (its Node options come from pepr.env), and our replicas, strategy, affinity,
 * readiness probe and first process.
 */
function withWatcherEnv(text: string, v: Record<string, unknown>): string[] {
  let found = false;
  const docs = parseAllDocuments(text).map(doc => {
    const o = doc.toJS() as { kind?: string; spec?: { template: { metadata: { labels?: Record<string, string> }; spec: { containers: { name: string; env?: unknown[] }[] } } } } | null;
    const watcher = o?.kind === "Deployment" && o.spec?.template.metadata.labels?.["pepr.dev/controller"] === "watcher" ? o.spec.template.spec.containers.find(c => c.name === "watcher") : undefined;
    if (watcher) {
      watcher.env = [...(watcher.env ?? []), ...watcherEnv(v)];
      adjustWatcherDeployment(o as WatcherDeployment, v.watcher as WatcherValues);
      found = true;
    }
    return stringify(o);
  });
  if (!found) throw new Error(`${manifest}: no watcher Deployment (pod label pepr.dev/controller: watcher, container watcher) to set the controller's env on`);
  return docs;
}

// Chart: CRDs in crds/ (Helm installs them before templates), our templates, our values and
// their schema (Pepr's schema refuses any value it does not know, ours included), our settings
// in Pepr's watcher template.
mkdirSync(join(chart, "crds"), { recursive: true });
for (const f of crds) copyFileSync(f, join(chart, "crds", f.split("/").at(-1)!));
for (const t of templates) copyFileSync(join(ours, "templates", t), join(chart, "templates", t));
const chartValues = join(chart, "values.yaml");
writeFileSync(chartValues, mergedValues(readFileSync(chartValues, "utf8")));
const schemaFile = join(chart, "values.schema.json");
const schema = JSON.parse(readFileSync(schemaFile, "utf8")) as { $ref: string; definitions: Record<string, { properties: Record<string, unknown> }> };
const valuesSchema = schema.definitions[schema.$ref.split("/").at(-1)!]!;
for (const [key, value] of Object.entries(values)) if (key !== "watcher") valuesSchema.properties[key] = schemaOf(value);
// The watcher's values: Pepr's (shared with admission in its schema), ours added, and any probe Kubernetes takes.
const peprWatcher = schema.definitions[(valuesSchema.properties.watcher as { $ref: string }).$ref.split("/").at(-1)!]!;
const ourWatcher = values.watcher as Record<string, unknown>;
const intOrPercent = { type: ["integer", "string"] };
const watcherProperties = {
  ...peprWatcher.properties,
  ...(schemaOf(ourWatcher) as { properties: Record<string, unknown> }).properties,
  // What Kubernetes takes there: any strategy, probe or affinity; a budget as a number or a percentage.
  strategy: { type: "object" },
  readinessProbe: { type: "object" },
  affinity: { type: "object" },
  podDisruptionBudget: { type: "object", additionalProperties: false, properties: { enabled: { type: "boolean" }, maxUnavailable: intOrPercent } },
};
schema.definitions.Watcher = { ...peprWatcher, ...{ title: "Watcher" }, properties: watcherProperties };
valuesSchema.properties.watcher = { $ref: "#/definitions/Watcher" };
const ruleSchema = schema.definitions.Rbac;
if (!ruleSchema) throw new Error(`${schemaFile}: no Rbac definition to allow resourceNames in`);
ruleSchema.properties.resourceNames = { type: "array", items: { type: "string" } };
writeFileSync(schemaFile, JSON.stringify(schema, null, 2) + "\n");
const watcherTemplate = join(chart, "templates/watcher-deployment.yaml");
writeFileSync(watcherTemplate, withWatcherSettings(adjustWatcherTemplate(readFileSync(watcherTemplate, "utf8"))));

/**
 * Pepr's values with its RBAC narrowed and our watcher values set in its watcher section, then
 * the rest of our values, comments kept.
 */
function mergedValues(peprText: string): string {
  const pepr = parseDocument(peprText);
  pepr.set("rbac", narrowRules((pepr.toJS() as { rbac?: Rule[] }).rbac ?? []));
  const ours = parseDocument(valuesText);
  const theirWatcher = pepr.get("watcher", true) as YAMLMap;
  const ourWatcher = ours.get("watcher", true);
  if (!isMap(theirWatcher) || !isMap(ourWatcher)) throw new Error("values.yaml: no watcher section to merge");
  // The comment above the section's first key is the section's own to the parser: keep it there.
  const first = ourWatcher.items[0]?.key as { commentBefore?: string | null } | undefined;
  if (first && ourWatcher.commentBefore) first.commentBefore = ourWatcher.commentBefore;
  for (const pair of ourWatcher.items) {
    theirWatcher.items = theirWatcher.items.filter(p => String((p.key as { value?: unknown }).value) !== String((pair.key as { value?: unknown }).value));
    theirWatcher.items.push(pair);
  }
  ours.delete("watcher");
  return `${pepr.toString().trimEnd()}\n\n${ours.toString()}`;
}

console.log(`added ${crds.length} CRD(s) and ${templates.length} template(s) to ${manifest.slice(root.length + 1)} and ${chart.slice(root.length + 1)}/; the same alone in dist/stageset-extras.yaml; with lockdown values in ${lockdownManifest.slice(root.length + 1)}`);
