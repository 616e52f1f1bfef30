// Payloads: the exact CloudEvent and Slack message of every event, escaping, and what a
// message may say of a target URL.
import { describe, expect, it } from "vitest";
import { transition as baseTransition } from "../../test/harness/notify-kit";
import { formatCloudEvent, formatPayload, formatSlack, notifyEvents, redactUrl, type NotifyEvent, type Transition } from "./index";

const transition = (event: NotifyEvent, more: Partial<Transition> = {}): Transition => baseTransition(`shop/web/${event}/app/v1.2.3/1746100000`, { event, generation: 7, ...more });

const source = "/apis/stageset.dev/v1alpha1/namespaces/shop/stagesets/web";

describe("formatCloudEvent", () => {
  it.each([
    { name: "RunStarted", event: "RunStarted", type: "dev.stageset.run.started" },
    { name: "StageReady", event: "StageReady", type: "dev.stageset.stage.ready" },
    { name: "ApprovalRequired", event: "ApprovalRequired", type: "dev.stageset.approval.required" },
    { name: "Degraded", event: "Degraded", type: "dev.stageset.degraded" },
    { name: "Failed", event: "Failed", type: "dev.stageset.failed" },
    { name: "Succeeded", event: "Succeeded", type: "dev.stageset.succeeded" },
  ] as const)("$name: structured mode, every attribute", ({ event, type }) => {
    const t = transition(event, { reason: "HealthCheckFailed" });
    const got = formatCloudEvent(t);
    expect(got.headers).toStrictEqual({ "content-type": "application/cloudevents+json" });
    expect(JSON.parse(got.body)).toStrictEqual({
      specversion: "1.0",
      id: t.id,
      source,
      type,
      subject: "app",
      time: "2025-05-01T12:00:00Z",
      datacontenttype: "application/json",
      data: { event, namespace: "shop", stageSet: "web", stage: "app", revision: "v1.2.3", reason: "HealthCheckFailed", message: "Deployment web: 3/3 ready", generation: 7 },
    });
  });

  it("leaves out what the transition does not have, rather than sending null", () => {
    const t: Transition = { event: "RunStarted", namespace: "shop", stageSet: "web", message: "run started", time: "2025-05-01T12:00:00Z", id: "run-1" };
    expect(JSON.parse(formatCloudEvent(t).body)).toStrictEqual({
      specversion: "1.0",
      id: "run-1",
      source,
      type: "dev.stageset.run.started",
      time: "2025-05-01T12:00:00Z",
      datacontenttype: "application/json",
      data: { event: "RunStarted", namespace: "shop", stageSet: "web", message: "run started" },
    });
  });

  it("has a type for every event, each distinct", () => {
    const types = notifyEvents.map(e => JSON.parse(formatCloudEvent(transition(e)).body).type as string);
    expect(new Set(types).size).toBe(notifyEvents.length);
    for (const type of types) expect(type).toMatch(/^dev\.stageset(\.[a-z]+)+$/);
  });
});

describe("formatSlack", () => {
  it.each([
    { name: "RunStarted", event: "RunStarted", reason: undefined, text: ":arrow_forward: StageSet shop/web: run started at v1.2.3" },
    { name: "StageReady", event: "StageReady", reason: undefined, text: ":white_check_mark: StageSet shop/web: stage app Ready at v1.2.3" },
    { name: "ApprovalRequired", event: "ApprovalRequired", reason: undefined, text: ":raised_hand: StageSet shop/web: stage app awaits approval at v1.2.3: Deployment web: 3/3 ready" },
    { name: "Degraded", event: "Degraded", reason: "HealthDegraded", text: ":warning: StageSet shop/web: stage app Degraded at v1.2.3 (HealthDegraded): Deployment web: 3/3 ready" },
    { name: "Failed", event: "Failed", reason: "HealthCheckFailed", text: ":x: StageSet shop/web: stage app failed at v1.2.3 (HealthCheckFailed): Deployment web: 3/3 ready" },
    { name: "Succeeded", event: "Succeeded", reason: undefined, text: ":tada: StageSet shop/web: all stages Ready at v1.2.3" },
  ] as const)("$name: one line in text", ({ event, reason, text }) => {
    const got = formatSlack(transition(event, { reason }));
    expect(got.headers).toStrictEqual({ "content-type": "application/json" });
    expect(JSON.parse(got.body)).toStrictEqual({ text });
  });

  it.each([
    { name: "a failure of the whole release, no revision", more: { stage: undefined, revision: undefined, reason: undefined }, text: ":x: StageSet shop/web: the release failed: Deployment web: 3/3 ready" },
    { name: "a mention and a link in the message", more: { message: "<!channel> see <http://evil.example|here> & more" }, text: ":x: StageSet shop/web: stage app failed at v1.2.3: &lt;!channel&gt; see &lt;http://evil.example|here&gt; &amp; more" },
    { name: "a long message", more: { message: "x".repeat(5_000) }, text: `:x: StageSet shop/web: stage app failed at v1.2.3: ${"x".repeat(299)}…` },
  ])("Failed with $name", ({ more, text }) => {
    expect(JSON.parse(formatSlack(transition("Failed", more)).body)).toStrictEqual({ text });
  });
});

describe("formatPayload", () => {
  it.each([
    { name: "cloudevents", format: "cloudevents", want: formatCloudEvent },
    { name: "slack", format: "slack", want: formatSlack },
  ] as const)("$name", ({ format, want }) => {
    const t = transition("StageReady");
    expect(formatPayload(format, t)).toStrictEqual(want(t));
  });
});

describe("redactUrl", () => {
  it.each([
    { name: "a Slack webhook's token path", url: "https://hooks.slack.com/services/T000/B000/XXXXsecret", shown: "https://hooks.slack.com" },
    { name: "user info, query and fragment", url: "https://user:s3cret@hooks.example.com:8443/p?token=s3cret#frag", shown: "https://hooks.example.com:8443" },
    { name: "an IPv6 literal", url: "http://[::1]:8080/x", shown: "http://[::1]:8080" },
    { name: "not a URL", url: "hooks.example.com/s3cret", shown: "(invalid URL)" },
  ])("$name", ({ url, shown }) => {
    expect(redactUrl(url)).toBe(shown);
  });
});
