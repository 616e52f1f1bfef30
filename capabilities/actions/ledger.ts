// The actions ledger in status.actions: which actions ran for which pinned revision. Pure.
// An action is done for a revision once it has a Succeeded record; the engine writes a
// Running record before it starts one, so a restart knows an attempt was made.
import type { ActionRecord } from "../api";

export type Hook = ActionRecord["hook"];
export type RecordKey = Pick<ActionRecord, "stage" | "hook" | "name" | "revision">;

const same = (a: RecordKey, b: RecordKey) => a.stage === b.stage && a.hook === b.hook && a.name === b.name && a.revision === b.revision;

export function findRecord(ledger: readonly ActionRecord[] | undefined, key: RecordKey): ActionRecord | undefined {
  return ledger?.find(r => same(r, key));
}

/** The ledger with this record replacing any with the same key. */
export function withRecord(ledger: readonly ActionRecord[] | undefined, record: ActionRecord): ActionRecord[] {
  return [...(ledger ?? []).filter(r => !same(r, record)), record];
}

/** Names of a hook's actions not yet Succeeded for the revision, in spec order. */
export function pendingActions(ledger: readonly ActionRecord[] | undefined, stage: string, hook: Hook, revision: string, names: readonly string[]): string[] {
  return names.filter(name => findRecord(ledger, { stage, hook, name, revision })?.phase !== "Succeeded");
}

/**
 * Only records of the revisions pinned now: older ones can never matter again. With
 * `forgetFailed` (a spec change), failed records go too, so those actions run again; a
 * Succeeded record stays, so nothing that succeeded runs twice for one revision.
 */
export function currentRecords(ledger: readonly ActionRecord[] | undefined, pins: Record<string, string>, forgetFailed = false): ActionRecord[] {
  return (ledger ?? []).filter(r => pins[r.stage] === r.revision && !(forgetFailed && r.phase === "Failed"));
}
