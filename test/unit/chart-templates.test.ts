import { describe, expect, it } from "vitest";
import { renderTemplate } from "../../scripts/chart-templates";

const values = { gate: { enabled: true, port: 8082, allowed: ["a", "b"] }, off: { enabled: false } };

describe("renderTemplate (the Helm subset our chart templates use)", () => {
  it.each([
    { name: "a value", tpl: "port: {{ .Values.gate.port }}", out: "port: 8082" },
    { name: "an if that holds", tpl: "{{- if .Values.gate.enabled }}\nx: 1\n{{- end }}", out: "\nx: 1" },
    { name: "an if that does not", tpl: "{{- if .Values.off.enabled }}\nx: 1\n{{- end }}", out: "" },
    { name: "an if not", tpl: "{{ if not .Values.off.enabled }}a{{ end }}{{ if not .Values.gate.enabled }}b{{ end }}", out: "a" },
    { name: "nested ifs", tpl: "{{ if .Values.gate.enabled }}a{{ if .Values.off.enabled }}b{{ end }}c{{ end }}", out: "ac" },
    { name: "toYaml | nindent", tpl: "values: {{- toYaml .Values.gate.allowed | nindent 2 }}", out: "values:\n  - a\n  - b" },
    { name: "right trim", tpl: "a {{ .Values.gate.port -}}   \n b", out: "a 8082b" },
  ])("$name", ({ tpl, out }) => {
    expect(renderTemplate(tpl, values)).toBe(out);
  });

  it.each([
    { name: "an unknown function", tpl: "{{ include \"x\" . }}", error: /unsupported template action/ },
    { name: "a value not in the chart values", tpl: "{{ .Values.gate.missing }}", error: /\.Values\.gate\.missing is not in the chart values/ },
    { name: "an if without end", tpl: "{{ if .Values.gate.enabled }}x", error: /without \{\{ end \}\}/ },
    { name: "an end without if", tpl: "x{{ end }}", error: /without \{\{ if \}\}/ },
  ])("refuses $name", ({ tpl, error }) => {
    expect(() => renderTemplate(tpl, values, "t.yaml")).toThrow(error);
  });
});
