// Controller settings that chart values set on the watcher container, from one table: the
// chart gets Helm lines in Pepr's watcher template, the plain YAML gets the env entries the
// same values render to.
import cfg from "../package.json";
import { lookup } from "./chart-templates";

export const watcherSettings = [
  { env: "STAGESET_DEFAULT_SERVICE_ACCOUNT", value: "tenancy.defaultServiceAccount" },
  { env: "STAGESET_NO_CROSS_NAMESPACE_REFS", value: "tenancy.noCrossNamespaceRefs" },
] as const;

// The line of Pepr's watcher template after which our entries go (its own env list).
const anchor = "{{- toYaml .Values.watcher.env | nindent 12 }}\n";

/** Pepr's watcher Deployment template with our settings added to the container's env. */
export function withWatcherSettings(template: string): string {
  if (!template.includes(anchor)) throw new Error(`Pepr's watcher template has no line ${JSON.stringify(anchor.trim())}: the settings ${watcherSettings.map(s => s.env).join(", ")} have nowhere to go`);
  const lines = watcherSettings.map(s => [
    `            {{- if .Values.${s.value} }}`,
    `            - name: ${s.env}`,
    `              value: {{ .Values.${s.value} | quote }}`,
    `            {{- end }}`,
  ]);
  return template.replace(anchor, `${anchor}${lines.flat().join("\n")}\n`);
}

/** The env entries the same values give, for the plain YAML. */
export function watcherEnv(values: Record<string, unknown>): { name: string; value: string }[] {
  const at = (path: string) => lookup(values, `.Values.${path}`, "the watcher settings");
  return watcherSettings.filter(s => at(s.value)).map(s => ({ name: s.env, value: String(at(s.value)) }));
}

/**
 * Node's settings for the module's processes, in package.json (pepr.env), so that Pepr puts them
 * on the watcher and admission pods of every install (npx pepr deploy, the YAML, the chart), and
 * the tests and benchmarks run the module with them too:
 *  - the old space capped, not left to Node's guess from the pod's memory limit, so that V8
 *    collects garbage before the heap grows toward the limit;
 *  - a 2 MiB young generation instead of 16 MiB, and one V8 helper thread (the pod has half a
 *    CPU: more threads only contend). Resident memory of the bundled module idle, watching
 *    no StageSets: 146.7 MiB with Node's defaults, 125.6 MiB with the small young generation,
 *    116.3 MiB with both.
 *    (`--single-threaded-gc` would do as well, but Node refuses it in NODE_OPTIONS.)
 */
export const watcherNodeOptions: string = cfg.pepr.env.NODE_OPTIONS;
