// Flux's ExternalArtifact (source.toolkit.fluxcd.io/v1): a tar.gz of manifests that some
// producer publishes in status.artifact. We only read it.
import { a, RegisterKind } from "pepr";

export const ExternalArtifactGVK = {
  group: "source.toolkit.fluxcd.io",
  version: "v1",
  kind: "ExternalArtifact",
  plural: "externalartifacts",
} as const;

export interface Artifact {
  /** `<algorithm>:<hex>` over the exact bytes of the tar.gz. */
  digest: string;
  lastUpdateTime: string;
  path: string;
  /** By convention `<id>@sha256:<hex>`; a change means "apply again". */
  revision: string;
  url: string;
  size?: number;
  metadata?: Record<string, string>;
}

export class ExternalArtifact extends a.GenericKind {
  declare spec?: { sourceRef?: { apiVersion?: string; kind: string; name: string; namespace?: string } };
  declare status?: { artifact?: Artifact; conditions?: { type: string; status: string; reason: string; message: string; lastTransitionTime: string }[] };
}

RegisterKind(ExternalArtifact, ExternalArtifactGVK);
