// Asks a running controller's gate and gauge the way their users do (plain HTTP, a /metrics
// scrape), once or continuously: a watch polls every stage at a fixed interval and keeps every
// answer with its time, so a test can say when the gate closed and that it never flapped.
export interface Sample {
  at: number;
  status: number;
  /** stageset_stage_ready for the stage in the same poll (NaN when the series is absent). */
  gauge: number;
}

export interface GateWatch {
  /**
   * When the gate first answered `status` with the gauge agreeing (1 for 200, 0 otherwise),
   * since the watch started or since `after`; fails after timeoutMs.
   */
  until(stage: string, status: number, timeoutMs?: number, after?: number): Promise<number>;
  stop(): Record<string, Sample[]>;
}

export interface GateProbe {
  status(stageset: string, stage: string): Promise<number>;
  json(stageset: string, stage: string): Promise<Record<string, unknown>>;
  /** A metric's value (summed over its series when no labels are given). */
  metric(series: string): Promise<number>;
  watch(stageset: string, stages: string[], intervalMs?: number): GateWatch;
}

export function gateProbe(gate: string, metrics: string, namespace: string): GateProbe {
  const url = (ss: string, stage: string) => `${gate}/gate/${namespace}/${ss}/${stage}`;
  const scrape = async () => await (await fetch(`${metrics}/metrics`)).text();
  const value = (text: string, series: string) => {
    const exact = new RegExp(`^${series.replace(/[{}"()[\]|.*+?^$\\]/g, "\\$&")}(?:\\{[^}]*\\})? (\\S+)$`, "gm");
    let sum = NaN;
    for (const m of text.matchAll(exact)) sum = (Number.isNaN(sum) ? 0 : sum) + Number(m[1]);
    return sum;
  };
  const gaugeOf = (text: string, ss: string, stage: string) => value(text, `stageset_stage_ready{namespace="${namespace}",stageset="${ss}",stage="${stage}"}`);
  return {
    status: async (ss, stage) => (await fetch(url(ss, stage))).status,
    json: async (ss, stage) => (await (await fetch(url(ss, stage), { headers: { accept: "application/json" } })).json()) as Record<string, unknown>,
    metric: async series => value(await scrape(), series),
    watch(ss, stages, intervalMs = 50) {
      const samples: Record<string, Sample[]> = Object.fromEntries(stages.map(s => [s, []]));
      const started = Date.now();
      let running = true;
      // Bounded even if a failing test never calls stop(): at most two minutes, and it ends
      // on the first connection error (the controller is gone).
      const loop = (async () => {
        while (running && Date.now() - started < 120_000) {
          const next = Date.now() + intervalMs;
          try {
            const [text, ...statuses] = await Promise.all([scrape(), ...stages.map(async s => (await fetch(url(ss, s))).status)]);
            const at = Date.now();
            stages.forEach((s, i) => samples[s]!.push({ at, status: statuses[i]!, gauge: gaugeOf(text, ss, s) }));
          } catch {
            return;
          }
          await new Promise(ok => setTimeout(ok, Math.max(0, next - Date.now())));
        }
      })();
      return {
        async until(stage, status, timeoutMs = 10_000, after = started) {
          const deadline = Date.now() + timeoutMs;
          const gauge = status === 200 ? 1 : 0;
          for (;;) {
            const hit = samples[stage]!.find(s => s.at >= after && s.status === status && s.gauge === gauge);
            if (hit) return hit.at;
            if (Date.now() > deadline) throw new Error(`the gate of ${ss}/${stage} did not answer ${status} with gauge ${gauge} within ${timeoutMs} ms; last: ${JSON.stringify(samples[stage]!.slice(-3))}`);
            await new Promise(ok => setTimeout(ok, 20));
          }
        },
        stop() {
          running = false;
          void loop;
          return samples;
        },
      };
    },
  };
}
