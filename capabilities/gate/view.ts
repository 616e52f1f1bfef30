// What the gate and the gauge answer from: every StageSet as the watch delivered it, the
// artifacts its sources publish now, and its stages' live health. Each fact comes from a watch
// and is held in memory, so a request is a few map lookups and never an API call, and a
// change closes the gate as soon as the event that shows it arrives, before any reconcile.
import { isStageReady, resolveRef, sourceKey, type PublishedArtifact, type StageSet, type StageStatus } from "../api";

export interface StageReadiness {
  ready: boolean;
  /** The stage's phase; "Degraded" as soon as live health says so, before the status does. */
  phase: string;
  /** The revision last attempted for this stage ("" before the first run). */
  revision: string;
  /** The revision whose objects were last applied and verified ("" if none yet). */
  appliedRevision: string;
}

export interface StageEntry extends StageReadiness {
  namespace: string;
  stageset: string;
  stage: string;
}

/** The live facts the view does not hold itself. */
export interface LiveFacts {
  /** What a source publishes now; undefined when its kind's watch has not listed (then not Ready). */
  published(sourceKey: string): PublishedArtifact | "none" | undefined;
  /** The stage's objects' health now; undefined when the stage is not followed at this verification. */
  healthy(namespace: string, stageset: string, stage: string, verification: string): boolean | undefined;
}

/** What a stage was verified as: live health is followed per verification. */
export function verificationOf(st: Pick<StageStatus, "verifiedGeneration" | "appliedDigest">): string {
  return `${st.verifiedGeneration ?? ""}|${st.appliedDigest ?? ""}`;
}

interface Held {
  generation?: number;
  deleting: boolean;
  /** unjudged: the stage has readyChecks.disableWait, so no live health to wait for. */
  stages: { name: string; source: string; status?: StageStatus; unjudged: boolean }[];
}

export class ReadinessView {
  private readonly stageSets = new Map<string, Held>();

  constructor(private readonly live: LiveFacts) {}

  /** Record the StageSet as the watch delivered it (any event, status writes included). */
  update(ss: StageSet): void {
    const { namespace, name, generation, deletionTimestamp } = ss.metadata ?? {};
    if (!namespace || !name) return;
    const stages = (ss.spec?.stages ?? []).map(s => ({
      name: s.name,
      source: sourceKey(resolveRef(s.sourceRef ?? { name: "" }, namespace)),
      status: ss.status?.stages?.find(st => st.name === s.name),
      unjudged: s.readyChecks?.disableWait === true,
    }));
    this.stageSets.set(viewKey(namespace, name), { generation, deleting: deletionTimestamp !== undefined, stages });
  }

  remove(namespace: string, name: string): void {
    this.stageSets.delete(viewKey(namespace, name));
  }

  /** The stage's readiness, or undefined for an unknown StageSet or stage. */
  get(namespace: string, stageset: string, stage: string): StageReadiness | undefined {
    const held = this.stageSets.get(viewKey(namespace, stageset));
    const entry = held?.stages.find(s => s.name === stage);
    return held && entry ? this.readiness(namespace, stageset, held, entry) : undefined;
  }

  /** Every stage of one StageSet in spec order, or undefined for an unknown StageSet. */
  stagesOf(namespace: string, stageset: string): StageEntry[] | undefined {
    const held = this.stageSets.get(viewKey(namespace, stageset));
    return held?.stages.map(entry => ({ namespace, stageset, stage: entry.name, ...this.readiness(namespace, stageset, held, entry) }));
  }

  /** Every known stage, for the gauge. */
  *entries(): Generator<StageEntry> {
    for (const key of this.stageSets.keys()) {
      const [namespace, stageset] = key.split("/") as [string, string];
      yield* this.stagesOf(namespace, stageset)!;
    }
  }

  private readiness(namespace: string, stageset: string, held: Held, entry: Held["stages"][number]): StageReadiness {
    const st = entry.status;
    // A stage that opted out of health checks is Ready once applied: it has no health to follow.
    const healthy = st && entry.unjudged ? true : st ? this.live.healthy(namespace, stageset, entry.name, verificationOf(st)) : undefined;
    const ready = isStageReady({ generation: held.generation, deleting: held.deleting, stage: st, published: this.live.published(entry.source), healthy });
    const phase = st?.phase === "Ready" && healthy === false ? "Degraded" : (st?.phase ?? "Pending");
    return { ready, phase, revision: st?.attemptedRevision ?? "", appliedRevision: st?.appliedRevision ?? "" };
  }
}

const viewKey = (namespace: string, name: string) => `${namespace}/${name}`;
