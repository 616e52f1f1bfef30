// What the gate and the gauge answer from: every StageSet's stages with their readiness,
// kept current by the watch. Readiness is computed once per event, so a request is a map
// lookup and never an API call.
import { isStageReady, type StageSet } from "../api";

export interface StageReadiness {
  ready: boolean;
  phase: string;
  /** The revision pinned for this stage in the current run ("" before the first run). */
  revision: string;
}

export interface StageEntry extends StageReadiness {
  namespace: string;
  stageset: string;
  stage: string;
}

export class ReadinessView {
  private readonly stageSets = new Map<string, Map<string, StageReadiness>>();

  /** Record the StageSet as the watch delivered it (any event, status writes included). */
  update(ss: StageSet): void {
    const { namespace, name, generation, deletionTimestamp } = ss.metadata ?? {};
    if (!namespace || !name) return;
    const status = ss.status;
    const deleting = deletionTimestamp !== undefined;
    const stages = new Map<string, StageReadiness>();
    for (const { name: stage } of ss.spec?.stages ?? []) {
      const st = status?.stages?.find(s => s.name === stage);
      stages.set(stage, {
        ready: !deleting && isStageReady(status, generation, stage),
        phase: st?.phase ?? "Pending",
        revision: status?.lastAttemptedRevisions?.[stage] ?? st?.appliedRevision ?? "",
      });
    }
    this.stageSets.set(viewKey(namespace, name), stages);
  }

  remove(namespace: string, name: string): void {
    this.stageSets.delete(viewKey(namespace, name));
  }

  /** The stage's readiness, or undefined for an unknown StageSet or stage. */
  get(namespace: string, stageset: string, stage: string): StageReadiness | undefined {
    return this.stageSets.get(viewKey(namespace, stageset))?.get(stage);
  }

  /** Every known stage, for the gauge. */
  *entries(): Generator<StageEntry> {
    for (const [key, stages] of this.stageSets) {
      const [namespace, stageset] = key.split("/") as [string, string];
      for (const [stage, r] of stages) yield { namespace, stageset, stage, ...r };
    }
  }
}

const viewKey = (namespace: string, name: string) => `${namespace}/${name}`;
