// The test artifact writer must produce archives that a real tar reads back exactly,
// including the hostile entries later tests rely on.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { tarGz, type TarEntry } from "../../local-cluster/tar";

const list = (entries: TarEntry[]) => execFileSync("tar", ["-tvzf", "-"], { input: tarGz(entries), encoding: "utf8" });

describe("tarGz", () => {
  it.each([
    { name: "plain file", entries: [{ name: "a.yaml", body: "kind: A\n" }], expect: /-rw-r--r-- .* a\.yaml/ },
    { name: "directory", entries: [{ name: "deploy/", type: "dir" as const }], expect: /^d.* deploy\// },
    { name: "symlink", entries: [{ name: "link", type: "symlink" as const, target: "/etc/passwd" }], expect: /^l.* link -> \/etc\/passwd/ },
    { name: "parent escape", entries: [{ name: "../escape.yaml", body: "x" }], expect: /\.\.\/escape\.yaml/ },
    { name: "long path with prefix", entries: [{ name: `${"d".repeat(120)}/file.yaml`, body: "x" }], expect: new RegExp(`${"d".repeat(120)}/file\\.yaml`) },
  ])("$name", ({ entries, expect: pattern }) => {
    expect(list(entries as TarEntry[])).toMatch(pattern);
  });

  it("round-trips file contents byte for byte", () => {
    const body = "apiVersion: v1\nkind: ConfigMap\n" + "x".repeat(1000);
    const out = execFileSync("tar", ["-xzOf", "-", "cm.yaml"], { input: tarGz([{ name: "cm.yaml", body }]), encoding: "utf8" });
    expect(out).toBe(body);
  });

  it("is deterministic, so the same content has the same digest", () => {
    const entries = [{ name: "a.yaml", body: "kind: A\n" }];
    expect(tarGz(entries).equals(tarGz(entries))).toBe(true);
  });
});
