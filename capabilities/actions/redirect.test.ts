// nextHop: when a response is a redirect to follow, what the next request looks like, and
// which redirects are refused.
import { describe, expect, it } from "vitest";
import { ActionError, ActionRefusedError } from "./errors";
import { nextHop, shownUrl, type Hop } from "./redirect";

const hop = (more: Partial<Hop> = {}): Hop => ({
  url: new URL("https://hooks.example.com/a/b?token=s3cret"),
  method: "POST",
  headers: { "content-type": "application/json", "x-trace": "1" },
  body: "{}",
  secretHeaders: [],
  secretBody: false,
  ...more,
});

describe("nextHop", () => {
  it.each([
    { name: "200", status: 200, location: "/x" },
    { name: "304 is not a redirect", status: 304, location: "/x" },
    { name: "302 without Location", status: 302, location: undefined },
    { name: "302 with an empty Location", status: 302, location: "" },
    { name: "302 that the action expects", status: 302, location: "/x", expected: [302] },
  ])("stops at $name", ({ status, location, expected }) => {
    expect(nextHop(hop(), status, location, expected)).toBeUndefined();
  });

  it.each([
    { status: 301, method: "POST", next: "GET", body: undefined },
    { status: 302, method: "POST", next: "GET", body: undefined },
    { status: 303, method: "POST", next: "GET", body: undefined },
    { status: 303, method: "PUT", next: "GET", body: undefined },
    { status: 303, method: "HEAD", next: "HEAD", body: "{}" },
    { status: 301, method: "PUT", next: "PUT", body: "{}" },
    { status: 302, method: "DELETE", next: "DELETE", body: "{}" },
    { status: 307, method: "POST", next: "POST", body: "{}" },
    { status: 308, method: "PATCH", next: "PATCH", body: "{}" },
  ] as const)("$status after $method → $next", ({ status, method, next, body }) => {
    const got = nextHop(hop({ method }), status, "/c", undefined);
    expect(got?.method).toBe(next);
    expect(got?.body).toBe(body);
    expect(got?.url.href).toBe("https://hooks.example.com/c");
    expect("content-type" in (got?.headers ?? {})).toBe(body !== undefined);
  });

  it.each([
    { location: "c", href: "https://hooks.example.com/a/c" },
    { location: "../c?x=1", href: "https://hooks.example.com/c?x=1" },
    { location: "//other.example.com/c", href: "https://other.example.com/c" },
    { location: "http://hooks.example.com/c", href: "http://hooks.example.com/c" },
  ])("resolves $location against the request URL", ({ location, href }) => {
    expect(nextHop(hop(), 307, location, undefined)?.url.href).toBe(href);
  });

  it("drops credential headers when leaving the origin", () => {
    const got = nextHop(hop({ headers: { authorization: "Bearer x", cookie: "a=b", "x-trace": "1" } }), 307, "https://other.example.com/", undefined);
    expect(got?.headers).toEqual({ "x-trace": "1" });
  });

  it("keeps them within the origin", () => {
    const headers = { authorization: "Bearer x", "x-trace": "1" };
    expect(nextHop(hop({ headers }), 307, "https://hooks.example.com:443/other", undefined)?.headers).toEqual(headers);
  });

  it.each([
    { name: "a secret header to another host", more: { secretHeaders: ["x-token"] }, status: 302, location: "https://other.example.com/", message: /redirected to another origin \(https:\/\/other\.example\.com\); not following with values from Secrets \(header x-token\)/ },
    { name: "a secret body to another port", more: { secretBody: true }, status: 307, location: "https://hooks.example.com:8443/", message: /\(the body\)$/ },
    { name: "a secret header downgraded to http", more: { secretHeaders: ["authorization"] }, status: 301, location: "http://hooks.example.com/a/b", message: /another origin \(http:\/\/hooks\.example\.com\)/ },
    { name: "a non-http scheme", more: {}, status: 302, location: "file:///etc/passwd", message: /redirected to scheme file \(only http and https are followed\)/ },
    { name: "gopher", more: {}, status: 302, location: "gopher://x/", message: /redirected to scheme gopher/ },
  ])("refuses $name", ({ more, status, location, message }) => {
    expect(() => nextHop(hop(more), status, location, undefined, 'http action "x": ')).toThrow(ActionRefusedError);
    expect(() => nextHop(hop(more), status, location, undefined)).toThrow(message);
  });

  it("follows a secret body to another origin once a 303 has dropped it", () => {
    expect(nextHop(hop({ secretBody: true }), 303, "https://other.example.com/", undefined)?.method).toBe("GET");
  });

  it("reports a Location that is not a URL without quoting it", () => {
    const call = () => nextHop(hop(), 302, "http://[bad", undefined);
    expect(call).toThrow(ActionError);
    expect(call).toThrow("https://hooks.example.com/a/b redirected to an invalid URL");
  });
});

describe("shownUrl", () => {
  it("leaves out credentials, query and fragment", () => {
    expect(shownUrl(new URL("https://u:p@h.example.com:8443/p/q?token=s#f"))).toBe("https://h.example.com:8443/p/q");
  });
});
