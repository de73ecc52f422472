// What the page works out itself from the read API's answers: pure functions, no I/O.

import { hoursBetween } from "./period.js";

export const STEPS = [1, 2, 3, 4, 5, 6];
export const CLASSES = ["gold", "meteor", "small_star", "burden"];

/** Customer ids named by the period's events (merged ids resolve when read). */
export function customersSeen(events) {
  return [...new Set(events.map((e) => e.customer_id).filter(Boolean))];
}

/** For each step: how many complaints reached it, and how many open ones stand there. */
export function funnel(complaints) {
  const reached = STEPS.map((step) => complaints.filter((c) => c.step >= step).length);
  const stalled = STEPS.map(
    (step) => complaints.filter((c) => c.step === step && !c.closed_at).length,
  );
  const most = Math.max(0, ...stalled);
  const worst = most > 0 ? STEPS[stalled.indexOf(most)] : null;
  return { reached, stalled, worst, total: complaints.length };
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

/** Customers by class: how many, their lifetime spend (value) and remedies paid (cost). */
export function byClass(customers) {
  const seen = new Set();
  const rows = Object.fromEntries(
    CLASSES.map((name) => [name, { name, customers: 0, value: 0, cost: 0 }]),
  );
  for (const customer of customers) {
    if (!customer || seen.has(customer.customer_id)) continue; // merged ids answer the survivor
    seen.add(customer.customer_id);
    const row = rows[customer.customer_class] ??
      (rows[customer.customer_class] = { name: customer.customer_class, customers: 0, value: 0, cost: 0 });
    row.customers += 1;
    row.value += customer.stats.spend_cny;
    row.cost += customer.stats.remedies_paid_cny;
  }
  return Object.values(rows).map((row) => ({
    ...row,
    value: Math.round(row.value * 100) / 100,
    cost: Math.round(row.cost * 100) / 100,
  }));
}
