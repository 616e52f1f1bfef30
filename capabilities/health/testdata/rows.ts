// The shared runner for the kstatus tables: a row is a YAML object and what compute() must say.
import { expect } from "vitest";
import { parse } from "yaml";
import { compute, type HealthStatus } from "../index";

export interface Row {
  name: string;
  yaml: string;
  status: HealthStatus;
  /** undefined exactly when status is Current. */
  reason: string | undefined;
  message?: string | RegExp;
  /** The clock passed to compute (epoch ms). */
  now?: number;
}

export function checkRow({ yaml, status, reason, message, now }: Row): void {
  const got = compute(parse(yaml) as object, { now });
  expect(got.status).toBe(status);
  expect(got.reason).toBe(reason);
  if (typeof message === "string") expect(got.message).toBe(message);
  if (message instanceof RegExp) expect(got.message).toMatch(message);
}
