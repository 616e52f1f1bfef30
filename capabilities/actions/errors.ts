// Typed action failures: StageSetErrors with the Action* reasons of api/reasons.ts, and
// whether another attempt (within the action's `retries`) may succeed.
import { Reason, StageSetError } from "../api";

export const ActionReason = { ActionFailed: Reason.ActionFailed, ActionRefused: Reason.ActionRefused, ActionTimeout: Reason.ActionTimeout } as const;
export type ActionReason = (typeof ActionReason)[keyof typeof ActionReason];

export class ActionError extends StageSetError {
  /** Whether another attempt (within `retries`) may succeed. */
  get retryable(): boolean {
    return !this.terminal;
  }
}

/** The destination (or a redirect) is refused: only a spec or allowlist change helps. */
export class ActionRefusedError extends ActionError {
  constructor(message: string) {
    super(ActionReason.ActionRefused, message, true);
  }
}

/** The server answered with a status outside expectedStatus. */
export class ActionStatusError extends ActionError {
  constructor(
    message: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(ActionReason.ActionFailed, message);
  }

  // A 4xx says the request itself is wrong, so the same request fails again; 408 and 429
  // are the server asking us to come back later.
  override get retryable(): boolean {
    return this.status < 400 || this.status >= 500 || this.status === 408 || this.status === 429;
  }
}

/** No complete answer within the action's timeout. */
export class ActionTimeoutError extends ActionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ActionReason.ActionTimeout, message, false, options);
  }
}

/** DNS, TCP or TLS failed before an answer arrived. */
export class ActionConnectionError extends ActionError {
  constructor(
    message: string,
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(ActionReason.ActionFailed, message, false, options);
  }
}
