// `stageset get [name] [-n ns | -A] [-o json|yaml]`: each StageSet with its Ready condition
// and, one row per stage, the stage's phase, revision and how long it has been in that phase.
import { stageSetsPath, type StageSet } from "../capabilities/api";
import type { KubeClient } from "../capabilities/kube";
import { age, machine, paint, shortRevision, table, toneOf, type Style } from "./output";

export interface StageSetSummary {
  namespace: string;
  name: string;
  ready: string;
  reason: string;
  message: string;
  stages: { name: string; phase: string; revision: string; appliedRevision: string; since?: string }[];
}

export function summarize(ss: StageSet): StageSetSummary {
  const ready = ss.status?.conditions?.find(c => c.type === "Ready");
  const status = new Map((ss.status?.stages ?? []).map(s => [s.name, s]));
  return {
    namespace: ss.metadata?.namespace ?? "",
    name: ss.metadata?.name ?? "",
    ready: ready?.status ?? "Unknown",
    reason: ready?.reason ?? "",
    message: ready?.message ?? "",
    stages: (ss.spec?.stages ?? []).map(s => {
      const st = status.get(s.name);
      return { name: s.name, phase: st?.phase ?? "Pending", revision: st?.attemptedRevision ?? "", appliedRevision: st?.appliedRevision ?? "", ...(st?.lastTransitionTime ? { since: st.lastTransitionTime } : {}) };
    }),
  };
}

export function renderGet(items: StageSetSummary[], opts: { allNamespaces: boolean; now: number; style: Style }): string {
  if (items.length === 0) return "No StageSets found.";
  const { style } = opts;
  const rows = items.flatMap(ss =>
    ss.stages.map((st, i) => [
      ...(opts.allNamespaces ? [i === 0 ? ss.namespace : ""] : []),
      i === 0 ? ss.name : "",
      i === 0 ? paintWord(style, ss.ready) : "",
      i === 0 ? ss.reason : "",
      st.name,
      paintWord(style, st.phase),
      shortRevision(st.revision),
      age(st.since, opts.now),
    ]),
  );
  return table([...(opts.allNamespaces ? ["NAMESPACE"] : []), "NAME", "READY", "REASON", "STAGE", "PHASE", "REVISION", "AGE"], rows, style);
}

const paintWord = (style: Style, word: string) => {
  const tone = toneOf(word);
  return tone ? paint(style, tone, word) : word;
};

export async function listStageSets(client: KubeClient, namespace: string | undefined, name?: string): Promise<StageSet[]> {
  if (name) return [(await client.get<StageSet>(stageSetsPath(namespace, name))).body];
  const items = (await client.get<{ items: StageSet[] }>(stageSetsPath(namespace))).body.items;
  return items.sort((a, b) => `${a.metadata?.namespace}/${a.metadata?.name}`.localeCompare(`${b.metadata?.namespace}/${b.metadata?.name}`));
}

export function getOutput(items: StageSet[], opts: { output?: string; allNamespaces: boolean; now: number; style: Style }): string {
  const summaries = items.map(summarize);
  return opts.output ? machine(opts.output, summaries) : renderGet(summaries, opts);
}
