// What a notification says: one StageSet transition as a CloudEvent (structured mode) or as a
// Slack message. Pure: the caller passes the transition in, time and id included; no target
// URL ever reaches a payload.

export const notifyEvents = ["RunStarted", "StageReady", "ApprovalRequired", "Degraded", "Failed", "Succeeded"] as const;
export type NotifyEvent = (typeof notifyEvents)[number];

export const notifyFormats = ["cloudevents", "slack"] as const;
export type NotifyFormat = (typeof notifyFormats)[number];

/** One transition of a StageSet, as the engine observed it. */
export interface Transition {
  event: NotifyEvent;
  namespace: string;
  stageSet: string;
  stage?: string;
  revision?: string;
  /** A reason of api/reasons.ts, for Degraded and Failed. */
  reason?: string;
  message: string;
  /** When the transition happened (ISO 8601). */
  time: string;
  generation?: number;
  /** The StageSet's uid: the engine records a failed delivery as an Event on it (not in payloads). */
  uid?: string;
  /**
   * Stable across observations of the same transition (namespace, name, event, stage,
   * revision, run start): receivers and the Notifier de-duplicate on it.
   */
  id: string;
}

export interface Payload {
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string;
}

interface EventText {
  /** The CloudEvents type: dev.stageset.<the event in lower-case dotted form>. */
  type: string;
  emoji: string;
  /** The Slack line after "StageSet <ns>/<name>: ". */
  line: (t: Transition) => string;
}

// Slack shows at most 40,000 characters of text, and a chat line should be short anyway;
// a condition message may be up to 32 KiB.
const slackMessageChars = 300;

const subjectOf = (t: Transition) => (t.stage === undefined ? "the release" : `stage ${t.stage}`);
const at = (t: Transition) => (t.revision === undefined ? "" : ` at ${t.revision}`);
const why = (t: Transition) => `${t.reason === undefined ? "" : ` (${t.reason})`}: ${clip(t.message, slackMessageChars)}`;

// One row per event: adding an event is one line here and one in notifyEvents.
const events: Record<NotifyEvent, EventText> = {
  RunStarted: { type: "dev.stageset.run.started", emoji: ":arrow_forward:", line: t => `run started${at(t)}` },
  StageReady: { type: "dev.stageset.stage.ready", emoji: ":white_check_mark:", line: t => `${subjectOf(t)} Ready${at(t)}` },
  ApprovalRequired: { type: "dev.stageset.approval.required", emoji: ":raised_hand:", line: t => `${subjectOf(t)} awaits approval${at(t)}${why(t)}` },
  Degraded: { type: "dev.stageset.degraded", emoji: ":warning:", line: t => `${subjectOf(t)} Degraded${at(t)}${why(t)}` },
  Failed: { type: "dev.stageset.failed", emoji: ":x:", line: t => `${subjectOf(t)} failed${at(t)}${why(t)}` },
  Succeeded: { type: "dev.stageset.succeeded", emoji: ":tada:", line: t => `all stages Ready${at(t)}` },
};

/** The CloudEvents `type` of an event, e.g. dev.stageset.stage.ready. */
export const cloudEventType = (event: NotifyEvent): string => events[event].type;

/** The CloudEvents `source` of a StageSet: its API path. */
export const cloudEventSource = (namespace: string, name: string): string => `/apis/stageset.dev/v1alpha1/namespaces/${namespace}/stagesets/${name}`;

/**
 * CloudEvents 1.0, structured content mode over HTTP: every attribute and the data in one
 * JSON body (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md#32-structured-content-mode).
 * Optional attributes are left out rather than sent as null, as the JSON format asks.
 */
export function formatCloudEvent(t: Transition): Payload {
  const event = {
    specversion: "1.0",
    id: t.id,
    source: cloudEventSource(t.namespace, t.stageSet),
    type: cloudEventType(t.event),
    ...defined({ subject: t.stage }),
    time: t.time,
    datacontenttype: "application/json",
    data: {
      event: t.event,
      namespace: t.namespace,
      stageSet: t.stageSet,
      ...defined({ stage: t.stage, revision: t.revision, reason: t.reason }),
      message: t.message,
      ...defined({ generation: t.generation }),
    },
  };
  return { headers: { "content-type": "application/cloudevents+json" }, body: JSON.stringify(event) };
}

/**
 * A Slack incoming-webhook message: one human line in `text`, which every client (and every
 * Slack-compatible receiver) shows as it is. &, < and > are escaped as Slack asks, so a
 * message cannot turn into a link or an @channel mention
 * (https://api.slack.com/reference/surfaces/formatting#escaping).
 */
export function formatSlack(t: Transition): Payload {
  const row = events[t.event];
  const text = `${row.emoji} StageSet ${t.namespace}/${t.stageSet}: ${row.line(t)}`;
  return { headers: { "content-type": "application/json" }, body: JSON.stringify({ text: slackEscape(text) }) };
}

const formatters: Record<NotifyFormat, (t: Transition) => Payload> = { cloudevents: formatCloudEvent, slack: formatSlack };

export const formatPayload = (format: NotifyFormat, t: Transition): Payload => formatters[format](t);

export const slackEscape = (text: string): string => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * What messages may say of a target URL: scheme and host (with port). A URL from a Secret
 * carries its token in the path, the query or the user info (Slack webhooks do).
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "(invalid URL)";
  }
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function defined<T extends Record<string, unknown>>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<T>;
}
