// How a budget reads (GET /admin/v1/budgets, GET /v1/usage's `budgets`): its period, its
// current window, its alert thresholds and what is spent, held and left of it. Shared by
// the budgets and teams admin pages and My usage.

import { h, usd } from "./dom.js";

const PERIODS = { day: "Daily", week: "Weekly", month: "Monthly" };
const KINDS = { team: 0, person: 1, key: 2 };
const ORDER = { day: 0, week: 1, month: 2, rolling: 3 };

/** "Daily", "Weekly", "Monthly" or "7-day rolling". */
export function periodText(budget) {
  if (budget.period === "rolling") return `${budget.days}-day rolling`;
  return PERIODS[budget.period] || budget.period;
}

/** The budget's scope as the API writes it in a request: team:3, person:alice@…, key:5. */
export function scopeKey(scope) {
  return `${scope.kind}:${scope.id}`;
}

/** Budgets grouped by scope (teams, people, keys), then model and period. */
export function sortBudgets(budgets) {
  const text = (b) => [KINDS[b.scope.kind] ?? 9, b.scope.id.padStart(12, "0"), b.model || "",
    ORDER[b.period] ?? 9, String(b.days || 0).padStart(3, "0")].join("\u0000");
  return [...budgets].sort((a, b) => (text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : a.id - b.id));
}

/** A UTC instant as "2026-12-01 00:00 UTC" in a <time>. */
export function utcTime(iso) {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const text = at.toISOString();
  return h("time", { datetime: text }, `${text.slice(0, 10)} ${text.slice(11, 16)} UTC`);
}

/** The current window ("2026-11-01 to 2026-11-30") and when it resets (or, rolling, moves on). */
export function windowText(budget) {
  const { start, end, resets_at: resets } = budget.window;
  return [
    h("span", { class: "window" }, start === end ? start : `${start} to ${end}`),
    h("br"),
    h("small", { class: "muted" }, budget.period === "rolling" ? "moves on " : "resets ", utcTime(resets)),
  ];
}

/** "80%, 100%", or "none". */
export function thresholdsText(budget) {
  const list = budget.thresholds || [];
  return list.length ? list.map((p) => `${p}%`).join(", ") : "none";
}

export function hardText(budget) {
  return budget.hard ? "hard" : "soft";
}

/** Spent plus held by requests in flight, as a share of the limit (a <meter>), named by
``label``, or with ``id`` for a <label for> of its own. */
export function budgetMeter(budget, label, id) {
  const limit = budget.limit_usd || 0;
  const used = (budget.spent_usd || 0) + (budget.reserved_usd || 0);
  const max = limit > 0 ? limit : 1;
  return h("meter", {
    min: 0, max, low: max * 0.75, high: max * 0.9, optimum: 0,
    value: Math.min(limit > 0 ? used : (used > 0 ? 1 : 0), max),
    id, "aria-label": id ? null : label || `${usd(used)} of ${usd(limit)} used`,
  });
}

/** What is left, and what that means when nothing is. */
export function remainingText(budget) {
  const remaining = budget.remaining_usd ?? 0;
  const over = (budget.spent_usd || 0) - (budget.limit_usd || 0);
  let note = null;
  if (remaining <= 0) {
    if (!budget.hard) note = over > 0 ? ` (${usd(over)} over: alerts only)` : " (limit reached: alerts only)";
    else note = " (limit reached)";
  }
  return h("span", { class: remaining <= 0 ? "over" : null }, usd(remaining), note);
}
