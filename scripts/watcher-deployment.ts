// The watcher Deployment as the chart and the plain YAML ship it. Pepr generates one replica,
// the Recreate strategy, its own readiness probe, and a first process that forks the module;
// ours come from the `watcher` section of our values: replicas, strategy, anti-affinity, grace period, a
// readiness probe that says whether the replica's view is synced, and deploy/watcher-entry.cjs
// as the first process (it runs the module itself, so the module hears the pod's SIGTERM).
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const watcherEntry = readFileSync(join(root, "deploy/watcher-entry.cjs"), "utf8");

export interface WatcherValues {
  replicas: number;
  terminationGracePeriodSeconds: number;
  strategy: unknown;
  affinity: unknown;
  readinessProbe: unknown;
}

interface Container {
  name: string;
  args?: string[];
  readinessProbe?: unknown;
}
export interface WatcherDeployment {
  spec: { replicas?: number; strategy?: unknown; template: { spec: { affinity?: unknown; terminationGracePeriodSeconds?: number; containers: Container[] } } };
}

/** The container's arguments: the entry script, then the module's hash (Pepr passes controller.js and the hash). */
function entryArgs(hash: string): string[] {
  return ["-e", watcherEntry, hash];
}

/** The plain YAML's watcher Deployment, changed in place. */
export function adjustWatcherDeployment(d: WatcherDeployment, v: WatcherValues): void {
  const c = d.spec.template.spec.containers.find(x => x.name === "watcher");
  const hash = c?.args?.[1];
  if (!c || c.args?.[0] !== peprController || !hash) throw new Error(`the watcher Deployment has no container watcher with args [${peprController}, <hash>]`);
  c.args = entryArgs(hash);
  c.readinessProbe = v.readinessProbe;
  d.spec.replicas = v.replicas;
  d.spec.strategy = v.strategy;
  d.spec.template.spec.affinity = v.affinity;
  d.spec.template.spec.terminationGracePeriodSeconds = v.terminationGracePeriodSeconds;
}

const peprController = "/app/node_modules/pepr/dist/controller.js";

// Lines of Pepr's watcher template, and what each becomes.
const templateEdits: [string, string][] = [
  ["  replicas: 1\n  strategy:\n    type: Recreate\n", "  replicas: {{ .Values.watcher.replicas }}\n  strategy:\n    {{- toYaml .Values.watcher.strategy | nindent 4 }}\n"],
  [
    `          args:\n            - ${peprController}\n            - {{ .Values.hash }}\n`,
    `          args:\n            - -e\n            - |\n${watcherEntry.trimEnd().split("\n").map(l => (l ? `              ${l}` : "")).join("\n")}\n            - {{ .Values.hash }}\n`,
  ],
];

/** Pepr's watcher Deployment template, with the same from .Values.watcher (affinity and the probe are Pepr's values already). */
export function adjustWatcherTemplate(template: string): string {
  return templateEdits.reduce((t, [from, to]) => {
    if (!t.includes(from)) throw new Error(`Pepr's watcher template has no lines ${JSON.stringify(from)} to replace`);
    return t.replace(from, to);
  }, template);
}
