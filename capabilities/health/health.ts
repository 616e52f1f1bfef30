// The result of one health check, in kstatus vocabulary, and the only constructors that
// build one. Every status except Current carries a reason; every status carries a message.

/** kstatus statuses (cli-utils pkg/kstatus/status/status.go); NotFound is the caller's to report. */
export type HealthStatus = "Current" | "InProgress" | "Failed" | "Terminating" | "Unknown";

/** What a poller can report: a computed status, or NotFound when the GET returned 404. */
export type ObjectStatus = HealthStatus | "NotFound";

export interface Health {
  status: HealthStatus;
  /** PascalCase, stable: kstatus's reason where upstream has one. Absent only when Current. */
  reason?: string;
  message: string;
}

export const current = (message: string): Health => ({ status: "Current", message });
export const inProgress = (reason: string, message: string): Health => ({ status: "InProgress", reason, message });
export const failed = (reason: string, message: string): Health => ({ status: "Failed", reason, message });
export const unknown = (reason: string, message: string): Health => ({ status: "Unknown", reason, message });
export const terminating = (message: string): Health => ({ status: "Terminating", reason: "Terminating", message });
