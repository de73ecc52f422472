// What the page works out itself from the read API's answers: pure functions, no I/O.

import { hoursBetween } from "./period.js";

export const CLASSES = ["gold", "meteor", "small_star", "burden"];

/** Seed 004's survey of customers after a complaint: the share who buy again, by what
 * became of it (docs/domain.md), shown beside the dealership's own rates; and its "a fixed
 * customer is often twice as loyal as one who never had a problem". */
export const SEED_REPURCHASE = {
  resolved_quickly: 0.82,
  resolved_slowly: 0.54,
  unresolved: 0.19,
  dissatisfied_never_complained: 0.09,
};
export const SEED_FIXED_RATIO = 2;

/** Seed 003's "how customers are won" (获得客户的途径) against the nearest source the events
 * show (/v1/metrics/retention, docs/projections.md): friends' introductions 30 % ≈ referred,
 * meetings and public events 30 % ≈ event, non-business contact 20 % ≈ phoned_in (the
 * channel only: who sent a caller is no field), cold visits 5 % ≈ walk_in, other 15 %. */
export const SEED_SOURCES = { referred: 0.3, event: 0.3, phoned_in: 0.2, walk_in: 0.05, other: 0.15 };
/** Seed 003's "why customers are lost": neglected (被忽视) 63 %, beside `neglected_share`. */
export const SEED_NEGLECTED = 0.63;

/** The step where most unclosed complaints stand (null when none does), from the metrics'
 * `complaints.funnel` (each step's `reached` and `standing`). */
export function worstStep(funnel) {
  const most = Math.max(0, ...funnel.map((s) => s.standing));
  return most > 0 ? funnel.find((s) => s.standing === most).step : null;
}

/** The dealership's complaint targets (hours) and the clock they count in, as complaints
 * recorded them (ComplaintClockSet): a medium-severity complaint's when there is one, as the
 * SLA differs by severity. Complaints recorded before the targets were (every hour, one SLA)
 * are read off their due times. */
export function slaTargets(complaints) {
  const recorded = complaints.filter((c) => c.sla_hours != null && c.apology_within_hours != null);
  const sample = recorded.find((c) => c.severity === "medium") ?? recorded[0];
  if (sample) {
    return {
      clock: sample.clock ?? "calendar",
      severity: sample.severity,
      apology: sample.apology_within_hours,
      resolution: sample.sla_hours,
    };
  }
  const older = complaints.find((c) => c.apology_due_at && c.sla_due_at && c.filed_at);
  if (!older) return null;
  return {
    clock: "calendar",
    severity: older.severity,
    apology: hoursBetween(older.filed_at, older.apology_due_at),
    resolution: hoursBetween(older.filed_at, older.sla_due_at),
  };
}
