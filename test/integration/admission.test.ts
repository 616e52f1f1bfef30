// Admission through the real API server: the module's Mutate and Validate handlers, served by
// Pepr's own runtime (as in an admission pod) and registered as URL webhooks for this test's
// namespace only. A bad StageSet is refused at apply time with a message naming the field.
import { K8s } from "pepr";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { StageSet } from "../../capabilities/api";
import { createTestNamespace, deleteTestNamespace } from "../harness/cluster";
import { startAdmissionWebhook, type AdmissionWebhook } from "../harness/admission-webhook";

let ns: string;
let webhook: AdmissionWebhook | undefined;

beforeAll(async () => {
  ns = await createTestNamespace("admission");
  webhook = await startAdmissionWebhook({ namespaces: [ns], harnessBinDir: inject("harnessBinDir"), kubeconfig: inject("kubeconfig") });
}, 60_000);

afterAll(async () => {
  await webhook?.stop();
  if (ns) await deleteTestNamespace(ns);
});

const stage = (name: string, extra: Record<string, unknown> = {}) => ({ name, sourceRef: { name: "src" }, ...extra });
const apply = (name: string, spec: Record<string, unknown>) => K8s(StageSet).Apply({ metadata: { name, namespace: ns }, spec } as unknown as StageSet);
const refusal = async (name: string, spec: Record<string, unknown>) => {
  const err = await apply(name, spec).then(() => undefined, (e: unknown) => e as { status?: number; data?: { message?: string } });
  expect(err, `${name} was accepted`).toBeDefined();
  return `${err!.status} ${err!.data?.message ?? JSON.stringify(err)}`;
};
const cel = (current: string) => ({ readyChecks: { exprs: [{ apiVersion: "apps/v1", kind: "Deployment", current }] } });

describe("admission", () => {
  it.each([
    // The API server itself refuses this one before admission (stages is a list keyed by name).
    { name: "dup", spec: { stages: [stage("db"), stage("db")] }, says: /\.spec\.stages: duplicate entries for key \[name="db"\]/ },
    { name: "badname", spec: { stages: [stage("DB_1")] }, says: /spec\.stages\[0\]\.name/ },
    { name: "cel-syntax", spec: { stages: [stage("a", cel("status.x =="))] }, says: /spec\.stages\[0\]\.readyChecks\.exprs\[0\]: .*current: does not parse/ },
    { name: "cel-type", spec: { stages: [stage("a", cel("1 + 1"))] }, says: /spec\.stages\[0\]\.readyChecks\.exprs\[0\]: .*must evaluate to a bool/ },
    { name: "cel-regex", spec: { stages: [stage("a", cel("metadata.name.matches('a(?=b)')"))] }, says: /spec\.stages\[0\]\.readyChecks\.exprs\[0\]: .*matches.*RE2/ },
    { name: "no-verb", spec: { stages: [stage("a", { actions: { pre: [{ name: "x" }] } })] }, says: /spec\.stages\[0\]\.actions\.pre\[0\]/ },
    { name: "two-verbs", spec: { stages: [stage("a", { actions: { pre: [{ name: "x", wait: { duration: "1s" }, delete: { target: { apiVersion: "v1", kind: "ConfigMap", name: "c" } } }] } })] }, says: /spec\.stages\[0\]\.actions\.pre\[0\].*(wait|delete)/ },
    // Only the webhook sees across lists: an action name used twice in one stage.
    { name: "dup-action", spec: { stages: [stage("a", { actions: { pre: [{ name: "x", wait: { duration: "1s" } }], post: [{ name: "x", wait: { duration: "1s" } }] } })] }, says: /admission webhook .*spec\.stages\[0\]\.actions\.post\[0\]\.name: "x" is already the name of/ },
    // The CRD's schema refuses a malformed duration; a zero one reaches the webhook.
    { name: "bad-duration", spec: { stages: [stage("a", { timeout: "soon" })] }, says: /spec\.stages\[0\]\.timeout/ },
    { name: "bad-window", spec: { stages: [stage("a")], windows: [{ kind: "deny", schedule: "0 25 * * *", duration: "1h" }] }, says: /admission webhook .*spec\.windows\[0\]\.schedule: hour/ },
    { name: "bad-zone", spec: { stages: [stage("a")], windows: [{ kind: "allow", schedule: "0 9 * * MON-FRI", duration: "8h", timeZone: "Mars/Olympus" }] }, says: /spec\.windows\[0\]\.timeZone: "Mars\/Olympus" is not a known IANA time zone/ },
    { name: "self-dependency", spec: { stages: [stage("a")], dependsOn: [{ name: "self-dependency" }] }, says: /spec\.dependsOn\[0\]: StageSet .*\/self-dependency cannot depend on itself/ },
    { name: "zero-duration", spec: { stages: [stage("a", { timeout: "0s" })] }, says: /admission webhook .*spec\.stages\[0\]\.timeout: "0s" must be longer than zero/ },
  ])("refuses $name, naming the field", async ({ name, spec, says }) => {
    const message = await refusal(name, spec);
    console.log(`admission ${name}: ${message}`);
    expect(message).toMatch(says);
  });

  it("refuses an update that breaks a valid StageSet, naming the field", async () => {
    await apply("upd", { stages: [stage("a")] });
    expect(await refusal("upd", { stages: [stage("a", cel("1 + 1"))] })).toMatch(/admission webhook .*spec\.stages\[0\]\.readyChecks\.exprs\[0\]: .*must evaluate to a bool/);
  });

  it("accepts a valid StageSet with the action defaults filled in", async () => {
    await apply("good", { stages: [stage("a", { actions: { post: [{ name: "settle", wait: { duration: "1s" } }] } })] });
    const ss = await K8s(StageSet).InNamespace(ns).Get("good");
    expect((ss.spec!.stages[0]!.actions as { post: unknown[] }).post[0]).toEqual({ name: "settle", wait: { duration: "1s" }, timeout: "5m", retries: 0 });
  });
});
