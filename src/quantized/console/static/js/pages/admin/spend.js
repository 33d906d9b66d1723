// Admin: everyone's spend over a period, by day, caller and model: a day chart, bars and
// tables (the tables are the charts' text alternative). GET /admin/v1/usage with start, end
// (UTC days, inclusive), caller (key:<id> or jwt:<subject>) and model; the filters are the
// page's URL query.

import { ApiError, api } from "../../api.js";
import { bars, dayChart } from "../../chart.js";
import { clear, field, h, notice, usd } from "../../dom.js";

const FILTERS = ["start", "end", "caller", "model"];
const SERIES = 4;
const TOP = 15;

export async function render(main, { query, navigate }) {
  const inputs = {
    start: h("input", { name: "start", type: "date", value: query.start || "" }),
    end: h("input", { name: "end", type: "date", value: query.end || "" }),
    caller: h("input", {
      name: "caller", value: query.caller || "", autocomplete: "off", spellcheck: "false",
      placeholder: "key:3 or jwt:alice", list: "spend-callers",
    }),
    model: h("input", {
      name: "model", value: query.model || "", autocomplete: "off", spellcheck: "false",
      placeholder: "openai/gpt-4.1",
    }),
  };
  const callers = h("datalist", { id: "spend-callers" });
  const form = h("form", { id: "spend-filters", class: "filters", role: "search" },
    field("From", inputs.start), field("To", inputs.end),
    field("Caller", inputs.caller), field("Model", inputs.model),
    h("button", { type: "submit" }, "Show"),
    callers,
  );
  const go = (params) => {
    const search = new URLSearchParams();
    for (const name of FILTERS) if (params[name]) search.set(name, params[name]);
    navigate(`/ui/admin/spend${search.size ? `?${search}` : ""}`);
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go(Object.fromEntries(FILTERS.map((name) => [name, inputs[name].value.trim()])));
  });
  const today = new Date().toISOString().slice(0, 10);
  const period = (text, start) => {
    const button = h("button", { type: "button", class: "secondary" }, text);
    button.addEventListener("click", () => go({ ...query, start, end: today }));
    return button;
  };
  const status = h("div", { id: "spend-status", "aria-live": "polite" });
  const slot = h("div", { id: "spend" }, h("p", { class: "muted" }, "Loading…"));
  main.append(
    h("h1", {}, "Spend"),
    form,
    h("div", { class: "row periods", role: "group", "aria-label": "Periods" },
      period("This month", `${today.slice(0, 8)}01`),
      period("Last 7 days", daysAgo(6)),
      period("Last 30 days", daysAgo(29)),
      period("Last 90 days", daysAgo(89))),
    status,
    slot,
  );

  const params = {};
  for (const name of FILTERS) if (query[name]) params[name] = query[name];
  if (params.caller && !/^(key:[1-9][0-9]*|jwt:.+)$/.test(params.caller)) {
    clear(slot);
    inputError(inputs.caller, "A caller is key:<id> (an API key's id) or jwt:<subject>.");
    return;
  }
  let usage;
  let keys = [];
  try {
    [usage, keys] = await Promise.all([
      api("/admin/v1/usage", { query: params }),
      api("/admin/v1/keys").then((found) => found.data).catch(() => []),
    ]);
  } catch (error) {
    clear(slot);
    const input = error instanceof ApiError && error.param ? inputs[error.param] : null;
    if (input) {
      inputError(input, error.message);
    } else {
      status.replaceChildren(notice(error.message));
    }
    return;
  }
  const names = new Map(keys.map((key) => [`key:${key.id}`, key.name]));
  clear(callers, keys.map((key) => h("option", { value: `key:${key.id}` }, key.name)));
  inputs.start.value = usage.start;
  inputs.end.value = usage.end;
  showSpend(slot, usage, { names, query });
}

function inputError(input, message) {
  const said = notice(message);
  said.id = `${input.name}-error`;
  said.classList.add("field-error");
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", said.id);
  input.closest(".field").append(said);
  input.focus();
}

function daysAgo(count) {
  return new Date(Date.now() - count * 86400000).toISOString().slice(0, 10);
}

function callerOf(row) {
  return `${row.caller.kind}:${row.caller.id}`;
}

/** Rows summed by ``keyOf``: {key, requests, tokens…, cost}, biggest cost first. */
function group(rows, keyOf) {
  const sums = new Map();
  for (const row of rows) {
    const key = keyOf(row);
    const sum = sums.get(key) || {
      key, requests: 0, prompt_tokens: 0, cached_tokens: 0, cache_write_tokens: 0,
      completion_tokens: 0, cost: 0,
    };
    sum.requests += row.requests;
    sum.prompt_tokens += row.prompt_tokens;
    sum.cached_tokens += row.cached_tokens;
    sum.cache_write_tokens += row.cache_write_tokens;
    sum.completion_tokens += row.completion_tokens;
    sum.cost += row.cost_usd;
    sums.set(key, sum);
  }
  return [...sums.values()].sort((a, b) => b.cost - a.cost || b.requests - a.requests);
}

function dayRange(start, end, rows) {
  const days = [];
  const first = Date.parse(`${start}T00:00:00Z`);
  const last = Date.parse(`${end}T00:00:00Z`);
  if (Number.isFinite(first) && Number.isFinite(last) && first <= last && (last - first) / 86400000 <= 800) {
    for (let t = first; t <= last; t += 86400000) days.push(new Date(t).toISOString().slice(0, 10));
    return days;
  }
  return [...new Set(rows.map((row) => row.day))].sort();
}

function showSpend(slot, usage, { names, query }) {
  const rows = usage.data;
  const requests = rows.reduce((total, row) => total + row.requests, 0);
  const label = (caller) => (names.get(caller) ? `${caller} (${names.get(caller)})` : caller);
  clear(slot, h("p", { id: "spend-total", class: "total" },
    h("strong", {}, usd(usage.total_cost_usd)), ` over ${requests.toLocaleString("en-US")} requests, `,
    `${usage.start} to ${usage.end} (UTC)`,
    query.caller ? ` for ${label(query.caller)}` : "", query.model ? ` on ${query.model}` : "", "."));
  if (rows.length === 0) {
    slot.append(h("p", { class: "muted", id: "spend-empty" }, "No requests in this period."));
    return;
  }
  const byCaller = group(rows, callerOf);
  const byModel = group(rows, (row) => row.model);
  const byDay = group(rows, (row) => row.day);

  // Spend per day: everyone, and the biggest callers apart when there are several.
  const days = dayRange(usage.start, usage.end, rows);
  const index = new Map(days.map((day, i) => [day, i]));
  const series = [{ label: "Everyone", values: days.map(() => 0) }];
  const top = byCaller.length > 1 ? byCaller.slice(0, SERIES).map((c) => c.key) : [];
  for (const caller of top) series.push({ label: label(caller), values: days.map(() => 0) });
  for (const row of rows) {
    const i = index.get(row.day);
    if (i === undefined) continue;
    series[0].values[i] += row.cost_usd;
    const s = top.indexOf(callerOf(row));
    if (s >= 0) series[s + 1].values[i] += row.cost_usd;
  }
  const chartBox = h("section", { class: "card", "aria-labelledby": "spend-days-title" },
    h("h2", { id: "spend-days-title" }, "Spend per day (USD)"));
  slot.append(chartBox);
  dayChart(chartBox, days, series, { title: "Spend per day, USD" });
  chartBox.append(h("details", {}, h("summary", {}, "As a table"),
    table("spend-by-day", "Day", byDay.sort((a, b) => a.key.localeCompare(b.key)), (key) => key)));

  const filterLink = (name, value, text) => {
    const params = new URLSearchParams();
    for (const key of FILTERS) if (query[key] && key !== name) params.set(key, query[key]);
    params.set(name, value);
    return h("a", { href: `/ui/admin/spend?${params}`, "data-link": true }, text);
  };
  const callerCard = h("section", { class: "card", "aria-labelledby": "spend-callers-title" },
    h("h2", { id: "spend-callers-title" }, "By caller"));
  bars(callerCard, byCaller.slice(0, TOP).map((c) => ({ label: label(c.key), value: c.cost })),
    { title: "Spend by caller", format: usd });
  const modelCard = h("section", { class: "card", "aria-labelledby": "spend-models-title" },
    h("h2", { id: "spend-models-title" }, "By model"));
  bars(modelCard, byModel.slice(0, TOP).map((m) => ({ label: m.key, value: m.cost })),
    { title: "Spend by model", format: usd });
  slot.append(h("div", { class: "grid" }, callerCard, modelCard));

  slot.append(
    h("h2", {}, "Callers"),
    table("spend-by-caller", "Caller", byCaller, (key) => filterLink("caller", key, label(key))),
    h("h2", {}, "Models"),
    table("spend-by-model", "Model", byModel, (key) => filterLink("model", key, key)),
  );
}

function table(id, title, groups, cell) {
  const number = (value) => value.toLocaleString("en-US");
  return h("div", { class: "table-wrap" }, h("table", { id },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, title),
      h("th", { scope: "col", class: "num" }, "Requests"),
      h("th", { scope: "col", class: "num" }, "Prompt tokens"),
      h("th", { scope: "col", class: "num hide-narrow" }, "Cached"),
      h("th", { scope: "col", class: "num hide-narrow" }, "Cache writes"),
      h("th", { scope: "col", class: "num" }, "Completion tokens"),
      h("th", { scope: "col", class: "num" }, "Cost"),
    )),
    h("tbody", {}, groups.map((g) => h("tr", { "data-key": g.key },
      h("th", { scope: "row" }, cell(g.key)),
      h("td", { class: "num" }, number(g.requests)),
      h("td", { class: "num" }, number(g.prompt_tokens)),
      h("td", { class: "num hide-narrow" }, number(g.cached_tokens)),
      h("td", { class: "num hide-narrow" }, number(g.cache_write_tokens)),
      h("td", { class: "num" }, number(g.completion_tokens)),
      h("td", { class: "num" }, usd(g.cost)),
    ))),
  ));
}
