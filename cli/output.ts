// Human output: aligned tables, relative ages, short revisions, and colour only on a terminal
// (and never with NO_COLOR or --no-color). Machine output (-o json|yaml) is stable. Pure.
import { stringify } from "yaml";

export interface Style {
  color: boolean;
}

const codes = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, cyan: 36 } as const;
export type Tone = keyof typeof codes;

export function paint(style: Style, tone: Tone, text: string): string {
  return style.color ? `\u001b[${codes[tone]}m${text}\u001b[0m` : text;
}

/** The tone a phase, condition status or health reads in. */
export function toneOf(word: string): Tone | undefined {
  if (["Ready", "True", "Current", "Succeeded", "Normal"].includes(word)) return "green";
  if (["Failed", "False", "Degraded", "Warning", "Stalled"].includes(word)) return "red";
  if (["Waiting", "Applying", "Pending", "InProgress", "Unknown", "Pruning", "Deleting", "Terminating"].includes(word)) return "yellow";
  return undefined;
}

const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

/** Columns aligned by their visible width (colour codes do not count); the last column is not padded. */
export function table(header: string[], rows: string[][], style: Style): string {
  const visible = (s: string) => s.replace(ansi, "").length;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => visible(r[i] ?? ""))));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat(widths[i]! - visible(c)))).join("   ").trimEnd();
  return [paint(style, "bold", line(header)), ...rows.map(line)].join("\n");
}

/** 45s, 12m, 3h, 5d: as kubectl shows ages. */
export function age(since: string | undefined, now: number): string {
  if (!since) return "-";
  const s = Math.max(0, Math.floor((now - Date.parse(since)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 2 * 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** `v1.2.0@sha256:0123456789ab`: a revision's digest cut to 12 hex digits for tables. */
export function shortRevision(revision: string | undefined): string {
  if (!revision) return "-";
  return revision.replace(/(sha256:[0-9a-f]{12})[0-9a-f]+/, "$1");
}

export function machine(format: string, value: unknown): string {
  if (format === "json") return JSON.stringify(value, null, 2);
  if (format === "yaml") return stringify(value).trimEnd();
  throw new Error(`unknown output format ${JSON.stringify(format)} (json or yaml)`);
}
