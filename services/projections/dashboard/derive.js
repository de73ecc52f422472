// What the page works out itself from the read API's answers: pure functions, no I/O.

import { hoursBetween } from "./period.js";

export const CLASSES = ["gold", "meteor", "small_star", "burden"];

/** The step where most unclosed complaints stand (null when none does), from the metrics'
 * `complaints.funnel` (each step's `reached` and `standing`). */
export function worstStep(funnel) {
  const most = Math.max(0, ...funnel.map((s) => s.standing));
  return most > 0 ? funnel.find((s) => s.standing === most).step : null;
}

/** The dealership's complaint SLAs (hours), read off a complaint's due times. */
export function slaTargets(complaints) {
  const sample = complaints.find((c) => c.apology_due_at && c.sla_due_at && c.filed_at);
  if (!sample) return null;
  return {
    apology: hoursBetween(sample.filed_at, sample.apology_due_at),
    resolution: hoursBetween(sample.filed_at, sample.sla_due_at),
  };
}
