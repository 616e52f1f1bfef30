import { describe, expect, it } from "vitest";
import { stageSetsPath } from "./stageset";

describe("stageSetsPath", () => {
  it.each([
    [[], "/apis/stageset.dev/v1alpha1/stagesets"],
    [["shop"], "/apis/stageset.dev/v1alpha1/namespaces/shop/stagesets"],
    [["shop", "web"], "/apis/stageset.dev/v1alpha1/namespaces/shop/stagesets/web"],
    [["shop", "web", "/status"], "/apis/stageset.dev/v1alpha1/namespaces/shop/stagesets/web/status"],
  ] as [string[], string][])("%j", (args, path) => expect(stageSetsPath(...(args as [string?, string?, string?]))).toBe(path));
});
