// A StageSet's own page: everything the overview shows, whole, plus each stage's objects with
// their health now (from the ApplySet inventory, as `stageset tree`), the gate's answer for each
// stage (asked as Flagger and Argo Rollouts ask it), the action ledger, approvals and the
// StageSet's recent Events. Read with the user's kubeconfig when the page asks.
import type { ActionRecord, ApprovalRecord, Condition, StageSet, StageStatus } from "../../capabilities/api";
import type { Discovery, KubeClient } from "../../capabilities/kube";
import { readEvents, type EventRow } from "../events";
import { askGate, shown } from "../gate";
import { readTree, type TreeStage } from "../tree";
import { viewOf, type StageSetView } from "./model";

export interface GateView {
  stage: string;
  /** 200 open, 403 closed; absent when the gate could not be asked. */
  status?: number;
  answer: string;
}

export interface StageSetDetail {
  view: StageSetView;
  conditions: Condition[];
  /** Each stage's status whole: full revisions and digests, when applied, the message uncut. */
  stages: StageStatus[];
  tree: TreeStage[];
  gate: { url: string; answers: GateView[] };
  actions: ActionRecord[];
  approvals: ApprovalRecord[];
  events: EventRow[];
  eventsError?: string;
}

/** Recent Events shown: the newest ones. */
const eventsShown = 20;

/** A gate that does not answer by then is shown as not reachable: the view (its pages and its overview's sweeps) should not wait on it. */
export const gateTimeoutMs = 2_000;

export async function readDetail(client: KubeClient, discovery: Discovery, ss: StageSet, gateUrl: string, signal?: AbortSignal): Promise<StageSetDetail> {
  const namespace = ss.metadata!.namespace!;
  const name = ss.metadata!.name!;
  const stages = (ss.spec?.stages ?? []).map(s => s.name);
  const [tree, answers, events] = await Promise.all([
    readTree(client, discovery, ss),
    Promise.all(stages.map(stage => gateAnswer(gateUrl, `${namespace}/${name}/${stage}`, stage, signal))),
    readEvents(client, namespace, name).then(
      rows => ({ rows: rows.slice(-eventsShown) }),
      (err: unknown) => ({ rows: [] as EventRow[], error: err instanceof Error ? err.message : String(err) }),
    ),
  ]);
  return {
    view: viewOf(ss),
    conditions: ss.status?.conditions ?? [],
    stages: ss.status?.stages ?? [],
    tree,
    gate: { url: shown(gateUrl), answers },
    actions: ss.status?.actions ?? [],
    approvals: ss.status?.approvals ?? [],
    events: events.rows,
    ...("error" in events ? { eventsError: events.error } : {}),
  };
}

async function gateAnswer(gateUrl: string, path: string, stage: string, signal?: AbortSignal): Promise<GateView> {
  try {
    const a = await askGate(gateUrl, path, { timeoutMs: gateTimeoutMs, signal, flag: "--gate-url" });
    return { stage, status: a.status, answer: a.body };
  } catch (err) {
    return { stage, answer: err instanceof Error ? err.message : String(err) };
  }
}
