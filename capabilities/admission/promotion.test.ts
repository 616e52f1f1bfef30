// Admission of approvals without the API server: the SubjectAccessReview's answer is given.
import { describe, expect, it } from "vitest";
import type { StageSet } from "../api";
import { admitApproval, approvalRefusal, gateRemovalRefusal } from "./promotion";

const record = "stageset.dev/approvals";
const now = new Date("2026-12-02T10:00:00.123Z");
const alice = { username: "alice" };
const of = (annotations: Record<string, string>, approval: "Required" | "None" = "Required", tried?: { revision: string; digest: string }): StageSet =>
  ({
    metadata: { name: "web", namespace: "shop", annotations },
    spec: { stages: [{ name: "db", sourceRef: { name: "db" }, promotion: { approval } }, { name: "app", sourceRef: { name: "app" } }] },
    status: tried ? { stages: [{ name: "db", phase: "Ready", attemptedRevision: tried.revision, attemptedDigest: tried.digest }] } : {},
  }) as unknown as StageSet;
const yes = async () => true;
const no = async () => false;

describe("admitApproval", () => {
  it("records an allowed approval with the user, the time and the digest the stage is trying, and removes the request", async () => {
    const old = of({}, "Required", { revision: "v2", digest: "sha256:2" });
    const out = await admitApproval(of({ "stageset.dev/approve": "db@v2" }), old, alice, yes, now);
    expect(out["stageset.dev/approve"]).toBeUndefined();
    expect(JSON.parse(out[record]!)).toEqual([{ stage: "db", revision: "v2", digest: "sha256:2", approvedBy: "alice", approvedAt: "2026-12-02T10:00:00Z" }]);
  });
  it("records no digest for a revision the stage is not trying (it approves nothing)", async () => {
    const out = await admitApproval(of({ "stageset.dev/approve": "db@v9" }), of({}, "Required", { revision: "v2", digest: "sha256:2" }), alice, yes, now);
    expect(JSON.parse(out[record]!)[0]).not.toHaveProperty("digest");
  });
  it.each([
    ["a user without the verb", of({ "stageset.dev/approve": "db@v2" }), no],
    ["a malformed request", of({ "stageset.dev/approve": "db" }), yes],
    ["a stage that takes no approvals", of({ "stageset.dev/approve": "app@v2" }), yes],
  ])("leaves the request in place for validation to refuse: %s", async (_, ss, may) => {
    expect(await admitApproval(ss, of({}), alice, may, now)).toEqual({ [record]: undefined });
  });
  it("puts back the record the object had, whatever the request wrote there", async () => {
    const before = JSON.stringify([{ stage: "db", revision: "v1", digest: "sha256:1", approvedBy: "carol", approvedAt: "2026-12-01T00:00:00Z" }]);
    const forged = JSON.stringify([{ stage: "db", revision: "v2", digest: "sha256:2", approvedBy: "alice", approvedAt: "2026-12-02T00:00:00Z" }]);
    expect(await admitApproval(of({ [record]: forged }), of({ [record]: before }), { username: "mallory" }, no, now)).toEqual({ [record]: before });
    expect(await admitApproval(of({ [record]: forged }), undefined, { username: "mallory" }, no, now)).toEqual({ [record]: undefined }); // on create
  });
});

describe("approvalRefusal and gateRemovalRefusal", () => {
  it("names the verb for a user who may not approve", async () => {
    expect(await approvalRefusal(of({ "stageset.dev/approve": "db@v2" }), { username: "bob" }, no)).toBe('stageset.dev/approve: user "bob" may not approve StageSet shop/web: approving takes the "approve" verb on stagesets.stageset.dev (grant it with RBAC)');
  });
  it("names what is wrong with a request", async () => {
    expect(await approvalRefusal(of({ "stageset.dev/approve": "app@v2" }), alice, yes)).toBe("stageset.dev/approve: stage app does not take approvals (its promotion.approval is not Required)");
    expect(await approvalRefusal(of({ "stageset.dev/approve": "nope@v2" }), alice, yes)).toBe('stageset.dev/approve: there is no stage "nope" in spec.stages');
  });
  it("takes the approve verb to take an approval gate away", async () => {
    expect(await gateRemovalRefusal(of({}, "None"), of({}), { username: "bob" }, no)).toMatch(/user "bob" may not take away the approval gate of stage db .* takes the "approve" verb/);
    expect(await gateRemovalRefusal(of({}, "None"), of({}), alice, yes)).toBeUndefined();
    expect(await gateRemovalRefusal(of({}), of({}, "None"), { username: "bob" }, no)).toBeUndefined(); // adding a gate is anyone's
  });
});
