// The http verb over the wire: redirects (each hop vetted again) and DNS rebinding (the
// connection goes to the address that was vetted, never to a second answer).
import { describe, expect, it } from "vitest";
import { ActionError, ActionRefusedError, runHttpAction, type HttpVerb } from "./index";
import { failure, get, lookupOf, ok, options, redirect, withServer, type Handler, type Server } from "../../test/harness/action-test-server";

// gate.test is the server's only allowed name: 127.0.0.1 itself is not on the allowlist.
const gate = () => options({ allowlist: ["gate.test"], lookup: lookupOf({ "gate.test": "127.0.0.1" }) });
const start = (s: Server, more: Partial<HttpVerb> = {}) => get(`http://gate.test:${s.port}/start`, more);

describe("redirects", () => {
  it("follows one within the allowed host", async () => {
    const [got, paths] = await withServer(redirect(302, s => `http://gate.test:${s.port}/next`), async s => [await runHttpAction(start(s), gate()), s.seen.map(x => x.path)] as const);
    expect(got.status).toBe(200);
    expect(paths).toEqual(["/start", "/next"]);
  });

  it("refuses one from the allowed host to its address, which is not allowed, and sends nothing there", async () => {
    const [err, paths, port] = await withServer(redirect(302, s => `http://127.0.0.1:${s.port}/x`), async s => [await failure(runHttpAction(start(s), gate())), s.seen.map(x => x.path), s.port] as const);
    expect(err).toBeInstanceOf(ActionRefusedError);
    expect(err.message).toBe(`http action "smoke": redirect from http://gate.test:${port}/start: destination 127.0.0.1 is loopback; allow it in the controller's host allowlist`);
    expect(paths).toEqual(["/start"]);
  });

  it.each([
    { name: "the metadata service", location: "http://169.254.169.254/latest/meta-data", message: /destination 169\.254\.169\.254 is a cloud metadata address/ },
    { name: "localhost", location: "http://localhost/", message: /destination 127\.0\.0\.1 \(localhost\) is loopback/ },
    { name: "a file URL", location: "file:///etc/passwd", message: /redirected to scheme file/ },
  ])("refuses one to $name", async ({ location, message }) => {
    const lookup = lookupOf({ "gate.test": "127.0.0.1", localhost: "127.0.0.1" });
    const err = await withServer(redirect(307, () => location), s => failure(runHttpAction(start(s), options({ allowlist: ["gate.test"], lookup }))));
    expect(err).toBeInstanceOf(ActionRefusedError);
    expect(err.message).toMatch(message);
  });

  it("refuses to carry a Secret's value to another origin", async () => {
    const spec = (s: Server) => start(s, { headers: [{ name: "Authorization", valueFrom: { secretKeyRef: { name: "hook", key: "token" } } }] });
    const lookup = lookupOf({ "gate.test": "127.0.0.1", "other.test": "127.0.0.1" });
    const [err, seen] = await withServer(redirect(302, s => `http://other.test:${s.port}/next`), async s => [await failure(runHttpAction(spec(s), options({ allowlist: ["gate.test", "other.test"], lookup }))), s.seen.length] as const);
    expect(err).toBeInstanceOf(ActionRefusedError);
    expect(err.message).toMatch(/redirected to another origin \(http:\/\/other\.test:\d+\); not following with values from Secrets \(header authorization\)$/);
    expect(seen).toBe(1);
  });

  it("turns a POST into a GET on 303 and keeps it on 307", async () => {
    const post = (s: Server): HttpVerb => ({ method: "POST", url: `http://gate.test:${s.port}/start`, body: "payload" });
    const run = (code: number) => withServer(redirect(code, () => "/next"), async s => (await runHttpAction(post(s), gate()), s.seen.map(x => `${x.method} ${x.path} ${x.body}`)));
    expect(await run(303)).toEqual(["POST /start payload", "GET /next "]);
    expect(await run(307)).toEqual(["POST /start payload", "POST /next payload"]);
  });

  const chain = (length: number): Handler => (seen, res) => {
    const n = Number(seen.path.slice(1));
    void (n < length ? res.writeHead(302, { location: `/${n + 1}` }).end() : res.writeHead(200).end());
  };

  it("follows 5 redirects", async () => {
    const got = await withServer(chain(5), s => runHttpAction(get(`http://gate.test:${s.port}/0`), gate()));
    expect(got.status).toBe(200);
  });

  it("stops at the 6th", async () => {
    const [err, seen] = await withServer(chain(6), async s => [await failure(runHttpAction(get(`http://gate.test:${s.port}/0`), gate())), s.seen.length] as const);
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toMatch(/^http action "smoke": GET http:\/\/gate\.test:\d+\/5: more than 5 redirects$/);
    expect(seen).toBe(6);
  });
});

describe("DNS rebinding", () => {
  // rebind.test answers 127.0.0.1 (allowed) once and 127.0.0.2 after that, where a trap
  // listens on the same port. A client that resolved again would land in the trap; one
  // that used the system resolver would not find rebind.test at all.
  it("connects to the vetted address, resolving the name once", async () => {
    const lookup = lookupOf({ "rebind.test": ["127.0.0.1", "127.0.0.2"] });
    const { got, good, trapped } = await withServer(ok, good =>
      withServer(
        ok,
        async trap => {
          const got = await runHttpAction(get(`http://rebind.test:${good.port}/x`), options({ allowlist: ["127.0.0.1"], lookup }));
          return { got, good: good.seen, trapped: trap.seen.length };
        },
        "127.0.0.2",
        good.port,
      ),
    );
    expect(got.status).toBe(200);
    expect(lookup.calls).toEqual(["rebind.test"]);
    expect(good).toHaveLength(1);
    expect(good[0]?.headers.host).toMatch(/^rebind\.test:\d+$/);
    expect(trapped).toBe(0);
  });

  it("vets each redirect hop with a fresh lookup, so a later answer is judged too", async () => {
    const lookup = lookupOf({ "rebind.test": ["127.0.0.1", "169.254.169.254"] });
    const [err, seen, port] = await withServer(redirect(302, () => "/next"), async s => [await failure(runHttpAction(get(`http://rebind.test:${s.port}/start`), options({ allowlist: ["127.0.0.1"], lookup }))), s.seen.length, s.port] as const);
    expect(err.message).toBe(`http action "smoke": redirect from http://rebind.test:${port}/start: destination 169.254.169.254 (rebind.test) is a cloud metadata address; allow it in the controller's host allowlist`);
    expect(seen).toBe(1);
    expect(lookup.calls).toEqual(["rebind.test", "rebind.test"]);
  });
});
