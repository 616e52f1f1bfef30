// Which object a stage's sourceRef names, spelled out in full: the default kind, and the
// StageSet's namespace when none is given. The key includes the kind's group, so two source
// kinds with objects of the same name never wake or answer for each other.
import type { SourceRef } from "./stageset";

export const defaultSource = { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "ExternalArtifact" } as const;

export interface ResolvedRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
}

export function resolveRef(ref: SourceRef, namespace: string): ResolvedRef {
  return { apiVersion: ref.apiVersion || defaultSource.apiVersion, kind: ref.kind || defaultSource.kind, name: ref.name, namespace: ref.namespace || namespace };
}

/** `Kind.group` of a source kind: what a source watch is kept per. */
export function sourceKindKey(ref: Pick<ResolvedRef, "apiVersion" | "kind">): string {
  const slash = ref.apiVersion.indexOf("/");
  return slash < 0 ? ref.kind : `${ref.kind}.${ref.apiVersion.slice(0, slash)}`;
}

/** `Kind.group/namespace/name`: one source object. */
export function sourceKey(ref: ResolvedRef): string {
  return `${sourceKindKey(ref)}/${ref.namespace}/${ref.name}`;
}
