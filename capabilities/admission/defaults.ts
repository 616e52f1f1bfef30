// Defaults the CRD schema cannot set, because actions are free-form there: each action's
// timeout and retries, made explicit so `kubectl get -o yaml` shows what will happen. Pure.
import type { Stage, StageSet } from "../api";

export const actionDefaults = { timeout: "5m", retries: 0 } as const;

/** The stages with every action's missing defaults filled, or undefined when none is missing. */
export function withActionDefaults(ss: StageSet): Stage[] | undefined {
  let changed = false;
  const stages = (ss.spec?.stages ?? []).map(stage => {
    const actions = stage.actions as Record<string, unknown> | undefined;
    if (!actions) return stage;
    const filled = Object.fromEntries(
      Object.entries(actions).map(([hook, list]) => [
        hook,
        Array.isArray(list)
          ? list.map((action: unknown) => {
              if (typeof action !== "object" || action === null) return action;
              const missing = Object.entries(actionDefaults).filter(([k]) => !(k in action));
              if (missing.length === 0) return action;
              changed = true;
              return { ...Object.fromEntries(missing), ...action };
            })
          : list,
      ]),
    );
    return { ...stage, actions: filled };
  });
  return changed ? stages : undefined;
}
