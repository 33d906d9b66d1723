// My usage: the signed-in caller's spend from GET /v1/usage over a period (in the URL as
// ?start=YYYY-MM-DD&end=YYYY-MM-DD): per day (chart and table), per model (table and
// bars), totals, budgets and what is left, and the rows as a CSV file.

import { api } from "../api.js";
import { bars, dayChart } from "../chart.js";
import { budgetMeter, periodText, scopeKey, sortBudgets, windowText } from "../budget-view.js";
import { clear, field, h, notice, usd } from "../dom.js";

const DAY = 86400000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const COLUMNS = [
  "day", "model", "requests", "prompt_tokens", "cached_tokens", "cache_write_tokens",
  "completion_tokens", "cost_usd",
];

const today = () => new Date().toISOString().slice(0, 10);
const addDays = (day, n) => new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10);
const monthStart = (day) => `${day.slice(0, 8)}01`;
const count = (n) => Number(n || 0).toLocaleString("en-US");
const valid = (day) => DATE.test(day) && !Number.isNaN(Date.parse(`${day}T00:00:00Z`));

/** The days from start to end, inclusive ("YYYY-MM-DD"). */
export function daysBetween(start, end) {
  const days = [];
  for (let day = start; day <= end && days.length <= 3700; day = addDays(day, 1)) days.push(day);
  return days;
}

function csvCell(value) {
  let text = value === null || value === undefined ? "" : String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`; // no formulas
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The per-day-per-model rows as CSV (a header line, then one line per row). */
export function toCsv(rows) {
  const lines = [COLUMNS.join(",")];
  for (const row of rows) lines.push(COLUMNS.map((name) => csvCell(row[name])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function periodOf(query) {
  const now = today();
  const warnings = [];
  let start = query.start || monthStart(now);
  let end = query.end || now;
  if (!valid(start)) {
    warnings.push(`The start "${query.start}" is not a date (YYYY-MM-DD): this month is shown.`);
    start = monthStart(now);
  }
  if (!valid(end)) {
    warnings.push(`The end "${query.end}" is not a date (YYYY-MM-DD): today is used.`);
    end = now;
  }
  return { start, end, warnings };
}

function budgetRow(label, limit, spent) {
  if (limit === null || limit === undefined) {
    return h("div", { class: "budget" }, h("h3", {}, label), h("p", { class: "muted" }, "No limit."),
      h("p", {}, `Spent: ${usd(spent || 0)}`));
  }
  const left = Math.max(0, limit - (spent || 0));
  const meter = h("progress", { max: String(limit), value: String(Math.min(limit, spent || 0)) });
  const id = `budget-${label.toLowerCase().replace(/\W+/g, "-")}`;
  meter.id = id;
  return h("div", { class: "budget", "data-budget": label.toLowerCase() },
    h("h3", {}, label),
    h("label", { for: id }, `${usd(spent || 0)} of ${usd(limit)} spent`), meter,
    h("p", { class: left > 0 ? "left" : "left spent-out" },
      left > 0 ? `${usd(left)} left` : "Nothing left: requests are refused until the period ends."));
}

/** The legacy shape (a daily and a monthly limit), for an API without ``budgets``. */
function legacyBlock(budget) {
  return [
    budgetRow("Today (UTC)", budget.daily_usd, budget.spent_today_usd),
    budgetRow("This month (UTC)", budget.monthly_usd, budget.spent_this_month_usd),
  ];
}

function scopeTitle(scope, caller) {
  if (scope.kind === "key") {
    return caller && caller.kind === "key" && String(caller.id) === scope.id ? "Your key" : `Key ${scope.id}`;
  }
  if (scope.kind === "person") return `You (${scope.id})`;
  if (scope.kind === "team") return `Your team (team ${scope.id})`;
  return `${scope.kind} ${scope.id}`;
}

/** One budget that applies to the caller's requests: whose, which models, its window, and
what is spent, held by requests in flight and left. */
function budgetCard(budget, caller) {
  const id = `budget-${budget.id}`;
  const spent = budget.spent_usd || 0;
  const reserved = budget.reserved_usd || 0;
  const remaining = budget.remaining_usd ?? 0;
  const spentOut = remaining <= 0;
  return h("div", { class: "budget card", "data-budget-id": budget.id, "data-scope": scopeKey(budget.scope) },
    h("h3", {}, `${scopeTitle(budget.scope, caller)}: ${periodText(budget).toLowerCase()}`),
    h("p", { class: "muted" },
      budget.model ? ["On ", h("code", {}, budget.model), " only"] : "On every model",
      budget.hard ? "" : " · soft: alerts only, requests are not refused"),
    h("p", { class: "window-line" }, "Window: ", windowText(budget)),
    h("label", { for: id }, `${usd(spent)} spent${reserved ? `, ${usd(reserved)} reserved` : ""} of ${usd(budget.limit_usd)}`),
    budgetMeter(budget, null, id),
    h("p", { class: spentOut ? "left spent-out" : "left", "data-field": "remaining" },
      !spentOut ? `${usd(remaining)} left`
        : budget.hard ? "Nothing left: requests are refused until the window moves on."
          : "Nothing left: an alert is sent, requests go on."));
}

export async function render(main, { query, user }) {
  const root = h("div", { class: "usage-page" });
  main.append(root);
  const initial = periodOf(query);
  const start = h("input", { type: "date", id: "start", name: "start", value: initial.start, required: true });
  const end = h("input", { type: "date", id: "end", name: "end", value: initial.end, required: true });
  const quick = (id, label, range) => {
    const button = h("button", { type: "button", id, class: "secondary" }, label);
    button.addEventListener("click", () => {
      const [first, last] = range(today());
      start.value = first;
      end.value = last;
      warnings.replaceChildren();
      load();
    });
    return button;
  };
  const csv = h("button", { type: "button", id: "download-csv", disabled: true }, "Download CSV");
  const period = h("form", { class: "filters usage-period", "aria-label": "Period" },
    field("From", start), field("To", end),
    h("div", { class: "field quick" }, h("span", { class: "quick-label", id: "quick-label" }, "Quick"),
      h("div", { class: "row", role: "group", "aria-labelledby": "quick-label" },
        quick("period-7", "7 days", (now) => [addDays(now, -6), now]),
        quick("period-30", "30 days", (now) => [addDays(now, -29), now]),
        quick("period-month", "This month", (now) => [monthStart(now), now]))),
    h("div", { class: "field" }, csv));
  period.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  const changed = () => { warnings.replaceChildren(); load(); };
  start.addEventListener("change", changed);
  end.addEventListener("change", changed);
  const warnings = h("div", { id: "period-warnings" }, initial.warnings.map((text) => notice(text)));
  const periodStatus = h("div", { id: "period-status", "aria-live": "polite" });
  const summary = h("div", { id: "usage-summary", "aria-live": "polite" });
  const budgets = h("section", { id: "budgets", "aria-labelledby": "budgets-title" },
    h("h2", { id: "budgets-title" }, "Budgets"), h("p", { class: "muted" }, "Loading…"));
  const content = h("div", { id: "usage-content" });
  root.append(h("h1", {}, "My usage"), period, warnings, periodStatus, summary, budgets, content);

  let rows = [];
  let shown = { start: initial.start, end: initial.end };
  let sequence = 0;
  csv.addEventListener("click", () => {
    download(`quantized-usage-${shown.start}-to-${shown.end}.csv`, toCsv(rows));
  });

  async function load() {
    const first = start.value;
    const last = end.value;
    periodStatus.replaceChildren();
    if (!valid(first) || !valid(last)) {
      periodStatus.append(notice("Give both dates of the period (YYYY-MM-DD)."));
      (valid(first) ? end : start).focus();
      return;
    }
    if (first > last) {
      periodStatus.append(notice("The period starts after it ends: choose a start on or before the end."));
      start.focus();
      return;
    }
    const url = `/ui/usage?start=${first}&end=${last}`;
    if (location.pathname + location.search !== url) history.replaceState(null, "", url);
    const mine = ++sequence;
    root.setAttribute("aria-busy", "true");
    csv.disabled = true;
    clear(summary, h("p", { class: "muted" }, "Loading the spend…"));
    let usage;
    try {
      usage = await api("/v1/usage", { query: { start: first, end: last } });
    } catch (error) {
      if (mine !== sequence) return;
      root.removeAttribute("aria-busy");
      clear(summary, notice(`Your spend cannot be read: ${error.message}`));
      clear(content);
      return;
    }
    if (mine !== sequence || !root.isConnected) return;
    root.removeAttribute("aria-busy");
    rows = usage.data || [];
    shown = { start: usage.start || first, end: usage.end || last };
    csv.disabled = rows.length === 0;
    showSummary(usage);
    showBudgets(usage);
    showContent(usage);
  }

  function showSummary(usage) {
    const requests = rows.reduce((sum, r) => sum + (r.requests || 0), 0);
    const prompt = rows.reduce((sum, r) => sum + (r.prompt_tokens || 0), 0);
    const completion = rows.reduce((sum, r) => sum + (r.completion_tokens || 0), 0);
    const models = new Set(rows.map((r) => r.model)).size;
    const stat = (id, label, text, value) => h("div", { class: "stat", id, "data-value": value },
      h("span", { class: "stat-label" }, label), h("span", { class: "stat-value" }, text));
    const total = usage.total_cost_usd ?? rows.reduce((s, r) => s + (r.cost_usd || 0), 0);
    clear(summary,
      h("p", { class: "muted" }, `From ${shown.start} to ${shown.end} (UTC days)`),
      h("div", { class: "stats" },
        stat("usage-total", "Spend", usd(total), total),
        stat("usage-requests", "Requests", count(requests), requests),
        stat("usage-prompt-tokens", "Prompt tokens", count(prompt), prompt),
        stat("usage-completion-tokens", "Completion tokens", count(completion), completion),
        stat("usage-models-count", "Models", count(models), models)));
  }

  function showBudgets(usage) {
    const title = h("h2", { id: "budgets-title" }, "Budgets");
    const none = h("p", { class: "muted" }, "No budget applies to you: your spend has no limit.");
    if (Array.isArray(usage.budgets)) {
      const list = sortBudgets(usage.budgets);
      clear(budgets, title, list.length === 0 ? none : [
        h("p", { class: "muted" },
          "Every budget that applies to your requests (your key's, yours, your team's), in its current "
          + "window, whatever the period above."),
        h("div", { class: "grid budgets" }, list.map((b) => budgetCard(b, usage.caller || user))),
      ]);
    } else if (usage.budget) {
      clear(budgets, title, h("div", { class: "grid budgets" }, legacyBlock(usage.budget)));
    } else {
      clear(budgets, title, none);
    }
  }

  function showContent() {
    clear(content);
    if (rows.length === 0) {
      content.append(notice("No spend in this period.", "info"));
      return;
    }
    // Per day: every day of the period, 0 where nothing was spent.
    const perDay = new Map();
    for (const r of rows) perDay.set(r.day, (perDay.get(r.day) || 0) + (r.cost_usd || 0));
    let days = daysBetween(shown.start, shown.end);
    if (days.length > 3660) days = [...perDay.keys()].sort();
    const dayValues = days.map((d) => perDay.get(d) || 0);
    const daySection = h("section", { id: "usage-days", "aria-labelledby": "days-title" },
      h("h2", { id: "days-title" }, "Spend per day"));
    content.append(daySection);
    dayChart(daySection, days, [{ label: "Spend (USD)", values: dayValues }],
      { title: `Spend per day, ${shown.start} to ${shown.end}` });
    const dayTable = h("table", { id: "usage-days-table" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Day"), h("th", { scope: "col", class: "num" }, "Spend"))),
      h("tbody", {}, days.filter((d) => perDay.has(d)).map((d) => h("tr", { "data-day": d },
        h("td", {}, d), h("td", { class: "num" }, usd(perDay.get(d)))))));
    daySection.append(h("details", {}, h("summary", {}, "Spend per day as a table"),
      h("div", { class: "table-wrap" }, dayTable)));

    // Per model: a table and bars, biggest spend first.
    const perModel = new Map();
    for (const r of rows) {
      const m = perModel.get(r.model) || {
        model: r.model, requests: 0, prompt_tokens: 0, cached_tokens: 0, completion_tokens: 0, cost_usd: 0,
      };
      for (const key of ["requests", "prompt_tokens", "cached_tokens", "completion_tokens", "cost_usd"]) {
        m[key] += r[key] || 0;
      }
      perModel.set(r.model, m);
    }
    const models = [...perModel.values()].sort((a, b) => b.cost_usd - a.cost_usd || (a.model < b.model ? -1 : 1));
    const modelSection = h("section", { id: "usage-per-model", "aria-labelledby": "models-title" },
      h("h2", { id: "models-title" }, "Spend per model"));
    content.append(modelSection);
    const table = h("table", { id: "usage-models" },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Model"),
        h("th", { scope: "col", class: "num" }, "Requests"),
        h("th", { scope: "col", class: "num hide-narrow" }, "Prompt tokens"),
        h("th", { scope: "col", class: "num hide-narrow" }, "Cached tokens"),
        h("th", { scope: "col", class: "num hide-narrow" }, "Completion tokens"),
        h("th", { scope: "col", class: "num" }, "Spend"))),
      h("tbody", {}, models.map((m) => h("tr", { "data-model": m.model, "data-cost": m.cost_usd },
        h("td", {}, h("a", { href: `/ui/models/${m.model.split("/").map(encodeURIComponent).join("/")}`, "data-link": true }, m.model)),
        h("td", { class: "num" }, count(m.requests)),
        h("td", { class: "num hide-narrow" }, count(m.prompt_tokens)),
        h("td", { class: "num hide-narrow" }, count(m.cached_tokens)),
        h("td", { class: "num hide-narrow" }, count(m.completion_tokens)),
        h("td", { class: "num" }, usd(m.cost_usd))))));
    modelSection.append(h("div", { class: "usage-models-layout" },
      h("div", { class: "table-wrap" }, table),
      h("div", { class: "usage-bars" })));
    bars(modelSection.querySelector(".usage-bars"),
      models.slice(0, 15).map((m) => ({ label: m.model, value: m.cost_usd })),
      { title: "Spend per model", format: usd });
  }

  await load();
}
