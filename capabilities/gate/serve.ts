// Both listeners for one engine: the gate on its view, metrics on its registry.
import type { Registry } from "prom-client";
import type { Listener } from "./listen";
import { startGateServer, startMetricsServer } from "./server";
import type { ReadinessView } from "./view";

export const defaultAddresses = { gate: ":8082", metrics: ":8080" };

export interface Serving {
  gate: Listener;
  metrics: Listener;
  close(): Promise<void>;
}

export interface ServeOptions {
  addresses?: Partial<typeof defaultAddresses>;
  env?: NodeJS.ProcessEnv;
  /** The readiness probe's answer (/readyz on the metrics listener). */
  synced?: () => boolean;
}

/** Addresses come from STAGESET_GATE_ADDRESS and STAGESET_METRICS_ADDRESS unless given. */
export async function serve(view: ReadinessView, registry: Registry, opts: ServeOptions = {}): Promise<Serving> {
  const { addresses = {}, env = process.env } = opts;
  const gate = await startGateServer(addresses.gate ?? env.STAGESET_GATE_ADDRESS ?? defaultAddresses.gate, view);
  const metrics = await startMetricsServer(addresses.metrics ?? env.STAGESET_METRICS_ADDRESS ?? defaultAddresses.metrics, registry, opts.synced).catch(async err => {
    await gate.close();
    throw err;
  });
  return { gate, metrics, close: async () => void (await Promise.all([gate.close(), metrics.close()])) };
}
