// Discovery: which resource (plural, scope) serves an apiVersion and kind. Cached per
// group/version; a miss refreshes once, because a CRD applied by an earlier stage only
// becomes discoverable after it is Established.
import type { KubeClient } from "./client";

export interface ResourceInfo {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

interface APIResourceList {
  resources: { name: string; kind: string; namespaced: boolean }[];
}

export class Discovery {
  private cache = new Map<string, Map<string, ResourceInfo>>();

  constructor(private readonly client: KubeClient) {}

  /** The resource serving apiVersion/kind, or undefined if the API server has none. */
  async resolve(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    const cached = this.cache.get(apiVersion)?.get(kind);
    if (cached) return cached;
    return (await this.refresh(apiVersion)).get(kind);
  }

  /** The preferred version's resource for a `Kind.group` (core: `Kind`), as ApplySet parents list them. */
  async resolveGroupKind(groupKind: string): Promise<ResourceInfo | undefined> {
    const dot = groupKind.indexOf(".");
    const kind = dot < 0 ? groupKind : groupKind.slice(0, dot);
    const group = dot < 0 ? "" : groupKind.slice(dot + 1);
    if (!group) return this.resolve("v1", kind);
    const res = await this.client.get<{ preferredVersion?: { groupVersion: string } }>(`/apis/${group}`, { allow: [404] });
    const gv = res.status === 200 ? res.body.preferredVersion?.groupVersion : undefined;
    return gv ? this.resolve(gv, kind) : undefined;
  }

  /** Forget one group/version (after a CRD for it changed). */
  invalidate(apiVersion?: string): void {
    if (apiVersion) this.cache.delete(apiVersion);
    else this.cache.clear();
  }

  private async refresh(apiVersion: string): Promise<Map<string, ResourceInfo>> {
    const { group, version } = splitApiVersion(apiVersion);
    const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
    const res = await this.client.get<APIResourceList>(path, { allow: [404, 503] });
    const kinds = new Map<string, ResourceInfo>();
    if (res.status === 200) {
      for (const r of res.body.resources) {
        if (r.name.includes("/")) continue; // subresources such as deployments/status
        kinds.set(r.kind, { group, version, kind: r.kind, plural: r.name, namespaced: r.namespaced });
      }
      this.cache.set(apiVersion, kinds);
    }
    return kinds;
  }
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? { group: "", version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** The REST path of a resource collection, or of one object when name is given. */
export function resourcePath(r: ResourceInfo, namespace?: string, name?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  return `${base}${ns}/${r.plural}${name ? `/${encodeURIComponent(name)}` : ""}`;
}
