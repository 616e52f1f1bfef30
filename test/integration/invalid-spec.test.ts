// A spec the controller cannot act on, on the real control plane: a CEL ready check that does
// not compile stalls the StageSet (Stalled=True, Ready=False, reason InvalidCELExpression)
// before anything is applied, in any stage, and it stays so until the spec changes.
import { K8s, kind } from "pepr";
import { describe, expect, it } from "vitest";
import { StageSet } from "../../capabilities/api";
import { eventually } from "../harness/cluster";
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
