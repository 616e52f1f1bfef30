// Human output of `stageset diff`: per stage its revision change, then each object that would
// change with its unified diff, and a count. Colour only when asked (the caller knows the terminal). Pure.
import { paint, shortRevision, type Style } from "../output";
import type { ObjectDiff, StageDiff } from "./diff";

const marks: Record<ObjectDiff["change"], string> = { create: "+", update: "~", delete: "-", unchanged: " " };

/** Anything would change: the command's exit code 1, as `kubectl diff`'s. */
export const hasChanges = (diffs: StageDiff[]): boolean => diffs.some(d => d.objects.some(o => o.change !== "unchanged"));

/** Some stage (or some object of it) could not be diffed: "no changes" is then not an answer. */
export const hasErrors = (diffs: StageDiff[]): boolean => diffs.some(d => d.error !== undefined);

export function renderDiff(diffs: StageDiff[], style: Style): string {
  const lines = diffs.flatMap(d => stageLines(d, style));
  const changed = diffs.reduce((n, d) => n + d.objects.filter(o => o.change !== "unchanged").length, 0);
  const failed = diffs.filter(d => d.error !== undefined).length;
  const total = changed === 0 ? "no changes" : `${changed} object${changed === 1 ? "" : "s"} would change`;
  lines.push(paint(style, "bold", failed === 0 ? total : `${total}; ${failed} stage${failed === 1 ? "" : "s"} could not be diffed`));
  return lines.join("\n");
}

function stageLines(d: StageDiff, style: Style): string[] {
  const to = d.removed ? "(removed from the spec)" : shortRevision(d.revision || undefined);
  const lines = [paint(style, "bold", `stage ${d.stage}: ${shortRevision(d.appliedRevision)} → ${to}`)];
  if (d.note) lines.push(`  ${d.note}`);
  if (d.error) lines.push(paint(style, "red", `  error: ${d.error}`));
  const changed = d.objects.filter(o => o.change !== "unchanged");
  if (changed.length === 0 && !d.error) lines.push("  no changes");
  for (const o of changed) {
    lines.push(paint(style, "bold", `${marks[o.change]} ${shownId(o.id)}`));
    if (o.note) lines.push(`  note: ${o.note}`);
    lines.push(...o.diff.trimEnd().split("\n").map(l => diffLine(l, style)));
  }
  return lines;
}

function diffLine(line: string, style: Style): string {
  if (line.startsWith("---") || line.startsWith("+++")) return paint(style, "bold", line);
  if (line.startsWith("@@")) return paint(style, "cyan", line);
  if (line.startsWith("+")) return paint(style, "green", line);
  if (line.startsWith("-")) return paint(style, "red", line);
  return line;
}

/** `Kind/namespace/name`, or `Kind/name` cluster-scoped, from objectId's `group/Kind/namespace/name`. */
export function shownId(id: string): string {
  const [, kind, namespace, ...name] = id.split("/");
  return namespace ? `${kind}/${namespace}/${name.join("/")}` : `${kind}/${name.join("/")}`;
}
