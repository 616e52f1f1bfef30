import { describe, expect, it } from "vitest";
import { isStageReady, type ReadinessFacts } from "./readiness";
import type { StageStatus } from "./stageset";

const v1 = { revision: "v1@sha256:a", digest: "sha256:a" };
const verified: StageStatus = { name: "db", phase: "Ready", attemptedRevision: v1.revision, attemptedDigest: v1.digest, appliedRevision: v1.revision, appliedDigest: v1.digest, verifiedGeneration: 4 };
const facts = (over: Partial<ReadinessFacts> = {}, stage: Partial<StageStatus> = {}): ReadinessFacts => ({
  generation: 4,
  deleting: false,
  stage: { ...verified, ...stage },
  published: v1,
  healthy: true,
  ...over,
});

describe("isStageReady: (a) generation verified, (b) artifact published now, (c) healthy now, (d) not deleting", () => {
  it.each([
    { name: "verified at this generation and artifact, healthy", f: facts(), ready: true },
    { name: "(a) a spec change: the new generation has not been through the stage", f: facts({ generation: 5 }), ready: false },
    { name: "(a) never verified", f: facts({}, { verifiedGeneration: undefined, appliedRevision: undefined, appliedDigest: undefined }), ready: false },
    { name: "(a) a resync re-applying the same generation and artifact keeps it open", f: facts({}, { phase: "Waiting" }), ready: true },
    { name: "(a) a newer artifact was applied since, and the source went back to the verified one", f: facts({}, { phase: "Failed", attemptedRevision: "v2@sha256:b", attemptedDigest: "sha256:b" }), ready: false },
    { name: "(a) a newer artifact is being applied", f: facts({}, { phase: "Waiting", attemptedRevision: "v2@sha256:b", attemptedDigest: "sha256:b" }), ready: false },
    { name: "(a) a resync at the same artifact failed (ApplyFailed), although the objects are healthy", f: facts({}, { phase: "Failed" }), ready: false },
    { name: "(b) the source publishes a new revision (before any run pins it)", f: facts({ published: { revision: "v2@sha256:b", digest: "sha256:b" } }), ready: false },
    { name: "(b) the same revision republished with a new digest", f: facts({ published: { revision: v1.revision, digest: "sha256:other" } }), ready: false },
    { name: "(b) the source is gone or has no artifact", f: facts({ published: "none" }), ready: false },
    { name: "(b) source kind not listed yet (just after a restart) or may not be listed: not shown, so not Ready", f: facts({ published: undefined }), ready: false },
    { name: "(b) source not watched yet, a newer revision failed before it was pinned", f: facts({ published: undefined }, { phase: "Failed", attemptedRevision: "v2@sha256:b", attemptedDigest: "sha256:b" }), ready: false },
    { name: "(b) source not watched yet, a newer revision pinned and waiting", f: facts({ published: undefined }, { phase: "Waiting", attemptedRevision: "v2@sha256:b", attemptedDigest: "sha256:b" }), ready: false },
    { name: "(c) an object degraded", f: facts({ healthy: false }), ready: false },
    { name: "(c) not followed yet (just after a restart): no verdict, so not Ready, even recorded Ready", f: facts({ healthy: undefined }), ready: false },
    { name: "(c) not followed yet, recorded Degraded", f: facts({ healthy: undefined }, { phase: "Degraded" }), ready: false },
    { name: "(c) live health beats a stale Degraded phase", f: facts({ healthy: true }, { phase: "Degraded" }), ready: true },
    { name: "(d) being deleted", f: facts({ deleting: true }), ready: false },
    { name: "no status for the stage", f: facts({ stage: undefined }), ready: false },
    { name: "no generation", f: facts({ generation: undefined }), ready: false },
  ])("$name", ({ f, ready }) => {
    expect(isStageReady(f)).toBe(ready);
  });
});
