// `stageset gate <ns>/<name>/<stage>`: asks the gate itself (what Flagger and Argo Rollouts ask),
// at --url or STAGESET_GATE_URL, else http://127.0.0.1:8082 (npm start, or
// `kubectl -n pepr-system port-forward svc/stageset-controller-gate 8082`).
export interface GateAnswer {
  status: number;
  body: string;
}

export interface AskOptions {
  /** Per request; 10 s unless said. */
  timeoutMs?: number;
  /** Aborts the question (the asker is stopping). */
  signal?: AbortSignal;
  /** The flag that gives the gate's address, for the error message. */
  flag?: string;
}

export async function askGate(base: string, path: string, opts: AskOptions = {}): Promise<GateAnswer> {
  const [namespace, name, stage, ...rest] = path.split("/");
  if (!namespace || !name || !stage || rest.length > 0) throw new Error(`${JSON.stringify(path)} is not <namespace>/<stageset>/<stage>`);
  const url = new URL(`gate/${[namespace, name, stage].map(encodeURIComponent).join("/")}`, base.endsWith("/") ? base : `${base}/`);
  url.search = "";
  // Credentials in the address (a gate behind a proxy that asks for them) go as Basic auth, as curl sends them: fetch refuses a URL that carries them.
  const headers: Record<string, string> = {};
  if (url.username || url.password) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString("base64")}`;
    url.username = "";
    url.password = "";
  }
  let res: Response;
  try {
    // Plain mode, as Flagger and Argo Rollouts ask: the status code is the answer (JSON mode always answers 200).
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? 10_000);
    // The gate answers itself: a redirect is an answer (not open), not an address to follow elsewhere with the credentials.
    res = await fetch(url, { headers, redirect: "manual", signal: opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout });
  } catch (err) {
    throw new Error(`the gate at ${shown(base)} does not answer (${err instanceof Error ? (err.cause as Error | undefined)?.message ?? err.message : String(err)}); give its address with ${opts.flag ?? "--url"} or STAGESET_GATE_URL`);
  }
  // The answer is one line ("ready", "not ready: ..."): a gate that sends more is shown cut.
  return { status: res.status, body: (await res.text()).slice(0, 1000).trim() };
}

/** The URL without credentials, for messages. */
export function shown(base: string): string {
  try {
    const u = new URL(base);
    u.username = "";
    u.password = "";
    u.search = "";
    return u.toString();
  } catch {
    return "(not a URL)";
  }
}
