// A spec the controller cannot act on, on the real control plane: a CEL ready check that does
// not compile stalls the StageSet (Stalled=True, Ready=False, reason InvalidCELExpression)
// before anything is applied, in any stage, and it stays so until the spec changes. And what
// the CRD's schema refuses on its own, with no admission webhook installed (as while it is down).
import { K8s, kind } from "pepr";
import { describe, expect, inject, it } from "vitest";
import { StageSet } from "../../capabilities/api";
import { eventually } from "../harness/cluster";
import { kubectl } from "../../local-cluster/control-plane";
import { useEngineSuite } from "../harness/suite";

const env = useEngineSuite("invalid-spec");

const configMap = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { ready: "yes" }\n`;

const read = (name: string) => K8s(StageSet).InNamespace(env.ns).Get(name);
const conditionOf = (ss: StageSet, type: string) => ss.status?.conditions?.find(c => c.type === type);
const ready = (ss: StageSet) => ss.status?.conditions?.some(c => c.type === "Ready" && c.status === "True" && c.observedGeneration === ss.metadata?.generation) ?? false;

/** ConfigMaps carrying this StageSet's ownership label: what it applied, ApplySet parents included. */
async function labelled(ss: string): Promise<string[]> {
  const list = await K8s(kind.ConfigMap).InNamespace(env.ns).WithLabel("stageset.dev/name", ss).Get();
  return list.items.map(cm => cm.metadata!.name!).sort();
}

describe("a CEL ready check that does not compile", () => {
  it("stalls the StageSet with InvalidCELExpression and applies nothing, not even the stages before it", async () => {
    const ss = "bad-cel";
    await env.artifacts.publish({ namespace: env.ns, name: `${ss}-one` }, { files: { "cm.yaml": configMap(`${ss}-one`) } });
    await env.artifacts.publish({ namespace: env.ns, name: `${ss}-two` }, { files: { "cm.yaml": configMap(`${ss}-two`) } });
    const withExpr = (current: string) => ({
      metadata: { name: ss, namespace: env.ns },
      spec: {
        stages: [
          { name: "one", sourceRef: { name: `${ss}-one` } },
          { name: "two", sourceRef: { name: `${ss}-two` }, readyChecks: { exprs: [{ apiVersion: "v1", kind: "ConfigMap", current }] } },
        ],
      },
    });
    await K8s(StageSet).Apply(withExpr("data.ready == "));

    const stalled = await eventually(() => read(ss), s => conditionOf(s, "Stalled")?.status === "True", { what: "Stalled=True" });
    const generation = stalled.metadata?.generation;
    expect(conditionOf(stalled, "Stalled")).toMatchObject({ reason: "InvalidCELExpression", observedGeneration: generation });
    expect(conditionOf(stalled, "Ready")).toMatchObject({ status: "False", reason: "InvalidCELExpression", message: expect.stringMatching(/^stage two: spec\.stages\[1\]\.readyChecks\.exprs\[0\] \(v1 ConfigMap\) current: does not parse/) });
    expect(conditionOf(stalled, "Reconciling")).toBeUndefined();
    expect(stalled.status?.observedGeneration).toBe(generation);
    // Stalled is terminal: no retry applies anything later either.
    await new Promise(ok => setTimeout(ok, 2_500));
    expect(await labelled(ss)).toEqual([]);
    expect(conditionOf(await read(ss), "Stalled")?.status).toBe("True");

    // Until the spec changes: a valid expression unsticks it.
    await K8s(StageSet).Apply(withExpr("data.ready == 'yes'"));
    const done = await eventually(() => read(ss), ready, { what: "Ready once the expression compiles" });
    expect(conditionOf(done, "Stalled")).toBeUndefined();
    expect(await labelled(ss)).toEqual([`${ss}-one`, `${ss}-two`, `stageset-${ss}-one`, `stageset-${ss}-two`]);
  });
});

describe("the CRD's schema, with no admission webhook", () => {
  const stage = (actions: Record<string, unknown>) => ({ name: "app", sourceRef: { name: "src" }, actions });
  const target = { apiVersion: "v1", kind: "ConfigMap", name: "c" };
  it.each([
    { name: "no-verb", actions: { pre: [{ name: "x" }] }, says: /spec\.stages\[0\]\.actions\.pre\[0\]: Invalid value: set exactly one verb/ },
    { name: "two-verbs", actions: { post: [{ name: "x", wait: { duration: "1s" }, delete: { target } }] }, says: /spec\.stages\[0\]\.actions\.post\[0\]: Invalid value: set exactly one verb/ },
    { name: "bad-method", actions: { pre: [{ name: "x", http: { method: "TRACE", url: "http://a.test/" } }] }, says: /spec\.stages\[0\]\.actions\.pre\[0\]\.http\.method: Unsupported value: "TRACE"/ },
    { name: "bad-scheme", actions: { pre: [{ name: "x", http: { method: "GET", url: "file:///etc/passwd" } }] }, says: /spec\.stages\[0\]\.actions\.pre\[0\]\.http\.url: Invalid value/ },
    { name: "job-both", actions: { pre: [{ name: "x", job: { path: "job.yaml", template: {} } }] }, says: /spec\.stages\[0\]\.actions\.pre\[0\]\.job: Invalid value: set template or path/ },
    { name: "no-target", actions: { onFailure: [{ name: "x", delete: {} }] }, says: /spec\.stages\[0\]\.actions\.onFailure\[0\]\.delete\.target: Required value/ },
    { name: "bad-name", actions: { pre: [{ name: "Not_A_Label", wait: { duration: "1s" } }] }, says: /spec\.stages\[0\]\.actions\.pre\[0\]\.name: Invalid value/ },
    { name: "bad-retries", actions: { pre: [{ name: "x", wait: { duration: "1s" }, retries: -1 }] }, says: /spec\.stages\[0\]\.actions\.pre\[0\]\.retries: Invalid value/ },
  ])("the API server refuses actions with $name, naming the field", async ({ name, actions, says }) => {
    const err = await K8s(StageSet)
      .Apply({ metadata: { name: `schema-${name}`, namespace: env.ns }, spec: { stages: [stage(actions)] } } as unknown as StageSet)
      .then(() => undefined, (e: { status?: number; data?: { message?: string } }) => e);
    expect(err, "the StageSet was accepted").toBeDefined();
    expect(err!.status).toBe(422);
    expect(err!.data?.message).toMatch(says);
  });

  it("kubectl explain documents every action verb", () => {
    const explain = kubectl(inject("harnessBinDir"), inject("kubeconfig"), ["explain", "stageset.spec.stages.actions.pre"]);
    for (const verb of ["http", "job", "wait", "patch", "delete", "apply"]) expect(explain).toMatch(new RegExp(`^\\s+${verb}\\s+<Object>`, "m"));
    expect(kubectl(inject("harnessBinDir"), inject("kubeconfig"), ["explain", "stageset.spec.stages.actions"])).toMatch(/exactly\s+one\s+verb/);
    const http = kubectl(inject("harnessBinDir"), inject("kubeconfig"), ["explain", "stageset.spec.stages.actions.post.http"]);
    expect(http).toMatch(/never\s+the\s+body/);
  });
});
