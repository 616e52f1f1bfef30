import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Reason } from "../../capabilities/api";
import { fieldRows, renderApiReference } from "../../scripts/api-docs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const read = (f: string) => readFileSync(join(root, f), "utf8");

describe("docs match the code", () => {
  it("docs/api.md is generated from the current CRD (run `npm run docs:api` after changing it)", () => {
    expect(read("docs/api.md")).toBe(renderApiReference(read("crds/stageset.dev_stagesets.yaml")));
  });

  it.each(Object.values(Reason))("docs/troubleshooting.md explains %s", reason => {
    expect(read("docs/troubleshooting.md")).toMatch(new RegExp(`^## ${reason}$`, "m"));
  });
});

describe("the API reference's field table", () => {
  it.each([
    { name: "enum and default", schema: { type: "string", enum: ["a", "b"], default: "a" }, type: "string; one of `a`, `b`; default `\"a\"`" },
    { name: "map", schema: { type: "object", additionalProperties: { type: "string" } }, type: "map of string" },
    { name: "free-form", schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true }, type: "object; free-form" },
    { name: "bounds", schema: { type: "integer", minimum: 1, maximum: 9 }, type: "integer; min 1; max 9" },
  ])("$name", ({ schema, type }) => {
    expect(fieldRows(schema, "x", false)[0]!.type).toBe(type);
  });

  it("walks arrays of objects and marks required fields", () => {
    const rows = fieldRows({ type: "array", items: { type: "object", required: ["name"], properties: { name: { type: "string" }, note: { type: "string" } } } }, "spec.stages", true);
    expect(rows.map(r => [r.path, r.required])).toEqual([["spec.stages", true], ["spec.stages[].name", true], ["spec.stages[].note", false]]);
  });
});
