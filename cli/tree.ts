// `stageset tree <name>`: stages → the objects each holds, from its ApplySet inventory (the
// objects labelled part of the stage's ApplySet, in the kinds and namespaces its parent names),
// each with its health now (kstatus, or the stage's CEL ready checks for the kinds they name).
import type { StageSet } from "../capabilities/api";
import { listMembers, readParent, type KubeObject } from "../capabilities/apply";
import { compileExprs, objectHealth, type Health } from "../capabilities/health";
import type { Discovery, KubeClient } from "../capabilities/kube";
import { paint, shortRevision, toneOf, type Style } from "./output";

export interface TreeStage {
  name: string;
  phase: string;
  revision: string;
  objects: { id: string; health: Health }[];
  /** The inventory could not be read (its parent is another's, a kind is not served). */
  problem?: string;
}

export async function readTree(client: KubeClient, discovery: Discovery, ss: StageSet): Promise<TreeStage[]> {
  const namespace = ss.metadata!.namespace!;
  const stageSet = ss.metadata!.name!;
  const out: TreeStage[] = [];
  for (const stage of ss.spec?.stages ?? []) {
    const st = ss.status?.stages?.find(s => s.name === stage.name);
    const entry: TreeStage = { name: stage.name, phase: st?.phase ?? "Pending", revision: st?.appliedRevision ?? st?.attemptedRevision ?? "", objects: [] };
    out.push(entry);
    try {
      const owner = { stageSet, namespace, stage: stage.name };
      const parent = await readParent(client, owner);
      if (parent.foreign) throw new Error(parent.foreign);
      const exprs = stage.readyChecks?.exprs?.length ? compileExprs(stage.readyChecks.exprs) : undefined;
      const members = await listMembers(client, discovery, owner, parent, true);
      entry.objects = members.map(o => ({ id: objectLabel(o), health: objectHealth(o, exprs) })).sort((a, b) => a.id.localeCompare(b.id));
    } catch (err) {
      entry.problem = err instanceof Error ? err.message : String(err);
    }
  }
  return out;
}

/** `Deployment shop/web`, `CustomResourceDefinition greetings.demo.stageset.dev`. */
const objectLabel = (o: KubeObject) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`;

export function renderTree(ss: StageSet, stages: TreeStage[], style: Style): string {
  const ready = ss.status?.conditions?.find(c => c.type === "Ready");
  const word = (w: string) => (toneOf(w) ? paint(style, toneOf(w)!, w) : w);
  const lines = [`${paint(style, "bold", `StageSet ${ss.metadata?.namespace}/${ss.metadata?.name}`)}   Ready=${word(ready?.status ?? "Unknown")}${ready?.reason ? ` (${ready.reason})` : ""}`];
  stages.forEach((st, i) => {
    const lastStage = i === stages.length - 1;
    lines.push(`${lastStage ? "└── " : "├── "}stage ${st.name}   ${word(st.phase)}   ${shortRevision(st.revision)}`);
    const indent = lastStage ? "    " : "│   ";
    if (st.problem) lines.push(`${indent}└── ${paint(style, "red", `inventory unreadable: ${st.problem}`)}`);
    else if (st.objects.length === 0) lines.push(`${indent}└── (no objects)`);
    st.objects.forEach((o, j) => {
      const note = o.health.status === "Current" ? "" : `   ${o.health.message}`;
      lines.push(`${indent}${j === st.objects.length - 1 ? "└── " : "├── "}${o.id}   ${word(o.health.status)}${note}`);
    });
  });
  return lines.join("\n");
}
