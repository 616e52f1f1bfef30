// Notifications of StageSet transitions (spec.notify): CloudEvents or Slack payloads, POSTed in
// the background through the SSRF guard of capabilities/net, with retries and de-duplication.
export {
  cloudEventSource,
  cloudEventType,
  formatCloudEvent,
  formatPayload,
  formatSlack,
  notifyEvents,
  notifyFormats,
  redactUrl,
  type NotifyEvent,
  type NotifyFormat,
  type Payload,
  type Transition,
} from "./payload";
export { Notifier, NotifyFailure, type Enqueued, type NotifierOptions, type NotifyTarget } from "./deliver";
export { retryAfterMs, retryDelayMs, type Backoff } from "./backoff";
