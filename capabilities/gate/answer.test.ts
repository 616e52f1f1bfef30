import { describe, expect, it } from "vitest";
import type { StageSet } from "../api";
import { answer, type GateRequest } from "./answer";
import { ReadinessView, type LiveFacts } from "./view";

const rev = "v2@sha256:b";

/** shop in team-a: crds Ready at the pinned revision, app Ready at an older one, db waiting. */
function release(over: Partial<StageSet["metadata"]> = {}): StageSet {
  return {
    apiVersion: "stageset.dev/v1alpha1",
    kind: "StageSet",
    metadata: { namespace: "team-a", name: "shop", generation: 4, ...over },
    spec: { stages: ["crds", "app", "db"].map(name => ({ name, sourceRef: { name } })) },
    status: {
      observedGeneration: 4,
      runGeneration: 4,
      lastAttemptedRevisions: { crds: rev, app: rev, db: rev },
      stages: [
        { name: "crds", phase: "Ready", attemptedRevision: rev, attemptedDigest: "sha256:b", appliedRevision: rev, appliedDigest: "sha256:b", verifiedGeneration: 4, message: "secret detail" },
        { name: "app", phase: "Ready", attemptedRevision: rev, attemptedDigest: "sha256:b", appliedRevision: "v1@sha256:a", appliedDigest: "sha256:a", verifiedGeneration: 4, message: "secret detail" },
        { name: "db", phase: "Waiting", attemptedRevision: rev, attemptedDigest: "sha256:b", message: "secret detail" },
      ],
    },
  } as StageSet;
}

/** Every source publishes the artifact shop's crds stage applied, and every followed stage is healthy. */
const publishingRev: LiveFacts = { published: () => ({ revision: rev, digest: "sha256:b" }), healthy: () => true };

function viewOf(...stageSets: StageSet[]): ReadinessView {
  return viewWith(publishingRev, ...stageSets);
}

function viewWith(live: LiveFacts, ...stageSets: StageSet[]): ReadinessView {
  const view = new ReadinessView(live);
  for (const ss of stageSets) view.update(ss);
  return view;
}

const get = (url: string, extra: Partial<GateRequest> = {}): GateRequest => ({ method: "GET", url, ...extra });
const asJSON = { accept: "application/json" };

describe("the gate's answer", () => {
  const view = viewOf(release());
  it.each([
    { name: "Ready at the pinned revision", req: get("/gate/team-a/shop/crds"), status: 200, body: "ready\n" },
    { name: "POST as Flagger sends it", req: get("/gate/team-a/shop/crds", { method: "POST" }), status: 200, body: "ready\n" },
    { name: "HEAD", req: get("/gate/team-a/shop/crds", { method: "HEAD" }), status: 200, body: "ready\n" },
    { name: "Ready at an older revision while a new one rolls", req: get("/gate/team-a/shop/app"), status: 403, body: "not ready\n" },
    { name: "waiting", req: get("/gate/team-a/shop/db"), status: 403, body: "not ready\n" },
    { name: "unknown stage", req: get("/gate/team-a/shop/nope"), status: 403, body: "not ready\n" },
    { name: "unknown StageSet", req: get("/gate/team-a/other/crds"), status: 403, body: "not ready\n" },
    { name: "unknown namespace", req: get("/gate/team-b/shop/crds"), status: 403, body: "not ready\n" },
    { name: "a query string is ignored", req: get("/gate/team-a/shop/crds?x=1"), status: 200, body: "ready\n" },
    { name: "missing stage", req: get("/gate/team-a/shop"), status: 400 },
    { name: "extra segment", req: get("/gate/team-a/shop/crds/x"), status: 400 },
    { name: "empty segment", req: get("/gate/team-a//crds"), status: 400 },
    { name: "trailing slash", req: get("/gate/team-a/shop/crds/"), status: 400 },
    { name: "upper case", req: get("/gate/Team-a/shop/crds"), status: 400 },
    { name: "percent-encoded slash", req: get("/gate/team-a/shop%2Fcrds/x"), status: 400 },
    { name: "dot segments", req: get("/gate/team-a/../crds"), status: 400 },
    { name: "a 64-character namespace", req: get(`/gate/${"a".repeat(64)}/shop/crds`), status: 400 },
    { name: "bare /gate", req: get("/gate"), status: 400 },
    { name: "another path", req: get("/metrics"), status: 404 },
    { name: "root", req: get("/"), status: 404 },
    { name: "prefix lookalike", req: get("/gateway/team-a/shop/crds"), status: 404 },
    { name: "an absolute-form target", req: get("http://x/gate/team-a/shop/crds"), status: 404 },
    { name: "PUT", req: get("/gate/team-a/shop/crds", { method: "PUT" }), status: 405 },
    { name: "DELETE", req: get("/gate/team-a/shop/crds", { method: "DELETE" }), status: 405 },
    { name: "OPTIONS on a bad path is still 405", req: get("/gate/x", { method: "OPTIONS" }), status: 405 },
  ])("$name → $status", ({ req, status, body }) => {
    const a = answer(req, view);
    expect(a.status).toBe(status);
    if (body) expect(a.body).toBe(body);
    expect(a.body).not.toContain("secret");
    expect(a.headers["cache-control"]).toBe("no-store");
    if (status === 405) expect(a.headers.allow).toBe("GET, HEAD, POST");
  });

  it.each([
    { name: "Ready", url: "/gate/team-a/shop/crds", ready: true, phase: "Ready", revision: rev, appliedRevision: rev },
    { name: "Ready at an older revision", url: "/gate/team-a/shop/app", ready: false, phase: "Ready", revision: rev, appliedRevision: "v1@sha256:a" },
    { name: "waiting", url: "/gate/team-a/shop/db", ready: false, phase: "Waiting", revision: rev, appliedRevision: "" },
    { name: "unknown", url: "/gate/team-a/other/crds", ready: false, phase: "Unknown", revision: "", appliedRevision: "" },
  ])("JSON mode, $name: 200 with the readiness and nothing else", ({ url, ready, phase, revision, appliedRevision }) => {
    for (const req of [get(url, asJSON), get(url, { accept: "text/html, application/json;q=0.9" }), get(`${url}?format=json`)]) {
      const a = answer(req, view);
      expect(a.status).toBe(200);
      expect(a.headers["content-type"]).toBe("application/json");
      const [, , namespace, stageset, stage] = url.split("/");
      expect(JSON.parse(a.body)).toEqual({ ready, namespace, stageset, stage, phase, revision, appliedRevision });
    }
  });

  it("a Content-Type of JSON (as Flagger sends) does not select JSON mode", () => {
    expect(answer({ method: "POST", url: "/gate/team-a/shop/db" }, view).status).toBe(403);
  });
});

describe("the readiness view", () => {
  it.each([
    { name: "spec changed since the run started", ss: release({ generation: 5 }), ready: false },
    { name: "being deleted", ss: release({ deletionTimestamp: new Date("2026-11-23T00:00:00Z") }), ready: false },
    { name: "current", ss: release(), ready: true },
  ])("$name", ({ ss, ready }) => {
    expect(viewOf(ss).get("team-a", "shop", "crds")?.ready).toBe(ready);
  });

  const published = (artifact: ReturnType<LiveFacts["published"]>): LiveFacts => ({ published: key => (key === "ExternalArtifact.source.toolkit.fluxcd.io/team-a/crds" ? artifact : undefined), healthy: () => true });
  it.each([
    { name: "the source publishes the applied artifact", live: published({ revision: rev, digest: "sha256:b" }), ready: true, phase: "Ready" },
    { name: "the source publishes a new revision: closed before any run", live: published({ revision: "v3@sha256:c", digest: "sha256:c" }), ready: false, phase: "Ready" },
    { name: "the source republished the revision with new content", live: published({ revision: rev, digest: "sha256:z" }), ready: false, phase: "Ready" },
    { name: "the source is gone", live: published("none"), ready: false, phase: "Ready" },
    { name: "the source kind not listed yet (just after a restart): not shown, so closed", live: published(undefined), ready: false, phase: "Ready" },
    { name: "live health: an object degraded", live: { ...publishingRev, healthy: (_n: string, _s: string, stage: string, v: string) => (stage === "crds" && v === "4|sha256:b" ? false : undefined) }, ready: false, phase: "Degraded" },
    { name: "live health of another verification does not count", live: { ...publishingRev, healthy: (_n: string, _s: string, _st: string, v: string) => (v === "3|sha256:b" ? false : v === "4|sha256:b" ? true : undefined) }, ready: true, phase: "Ready" },
    { name: "not followed yet (just after a restart): no verdict, so closed", live: { ...publishingRev, healthy: () => undefined }, ready: false, phase: "Ready" },
  ])("live facts: $name", ({ live, ready, phase }) => {
    expect(viewWith(live, release()).get("team-a", "shop", "crds")).toMatchObject({ ready, phase });
  });

  it("a stage with readyChecks.disableWait is Ready once verified, with no live health to wait for", () => {
    const unjudged = release();
    unjudged.spec!.stages[0]!.readyChecks = { disableWait: true };
    expect(viewWith({ ...publishingRev, healthy: () => undefined }, unjudged).get("team-a", "shop", "crds")?.ready).toBe(true);
    expect(viewWith({ ...publishingRev, healthy: () => undefined }, release()).get("team-a", "shop", "crds")?.ready).toBe(false);
  });

  it("a stage removed from the spec, or a removed StageSet, is unknown", () => {
    const view = viewOf(release());
    const shorter = release();
    shorter.spec!.stages = shorter.spec!.stages.slice(0, 2);
    view.update(shorter);
    expect(view.get("team-a", "shop", "db")).toBeUndefined();
    expect([...view.entries()].map(e => e.stage)).toEqual(["crds", "app"]);
    view.remove("team-a", "shop");
    expect([...view.entries()]).toEqual([]);
  });
});
