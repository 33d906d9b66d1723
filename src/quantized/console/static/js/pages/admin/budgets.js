// Admin: budgets. Each limits the spend of a team, a person or an API key, on every model or
// one, over a UTC day, week, month or the last N days; a hard one refuses requests at its
// limit, a soft one only sends alerts. The table shows each window's spend, what requests
// in flight hold and what is left. GET/POST /admin/v1/budgets,
// PATCH/DELETE /admin/v1/budgets/{id}; names from /admin/v1/teams, /admin/v1/keys and
// /v1/models. `?scope=team:3` fills the form in.

import { ApiError, api } from "../../api.js";
import {
  budgetMeter, hardText, periodText, remainingText, scopeKey, sortBudgets, thresholdsText, windowText,
} from "../../budget-view.js";
import { clear, field, h, notice, usd } from "../../dom.js";
import { clearErrors, confirmDialog, fieldError } from "../../forms.js";

const SCOPES = {
  team: { label: "Team", hint: "The team's id or name (see Teams)." },
  person: { label: "Person", hint: "A token subject or an e-mail address, as tokens name the person." },
  key: { label: "API key", hint: "The key's id or name (see Keys)." },
};

export async function render(main, { query }) {
  const status = h("div", { id: "budgets-status", "aria-live": "polite" });
  const tableSlot = h("div", { id: "budgets-table" }, h("p", { class: "muted" }, "Loading budgets…"));
  const dialog = confirmDialog();
  const names = { teams: new Map(), keys: new Map(), models: [] };
  const form = budgetForm({ status, reload: () => load(), names });
  main.append(
    h("h1", {}, "Budgets"),
    h("p", { class: "muted" },
      "A budget limits what a team, a person or an API key spends, on every model or one, over a UTC day, "
      + "week (Monday to Sunday), month or the last N days. At a hard budget's limit requests get "
      + "429 budget_exceeded until the window moves on; a soft budget only sends alerts at its thresholds."),
    form.element,
    h("h2", {}, "Budgets"),
    status,
    tableSlot,
    dialog.element,
  );

  async function load() {
    let budgets;
    try {
      const [found, teams, keys, models] = await Promise.all([
        api("/admin/v1/budgets"),
        api("/admin/v1/teams").catch(() => ({ data: [] })),
        api("/admin/v1/keys").catch(() => ({ data: [] })),
        api("/v1/models").catch(() => []),
      ]);
      budgets = sortBudgets(found.data);
      names.teams = new Map(teams.data.map((team) => [String(team.id), team]));
      names.keys = new Map(keys.data.map((key) => [String(key.id), key]));
      names.models = (Array.isArray(models) ? models : models.data || []).map((m) => m.id).sort();
      form.namesChanged();
    } catch (error) {
      clear(tableSlot, notice(error.message));
      return;
    }
    clear(tableSlot, budgetTable(budgets, { status, dialog, reload: load, names }));
  }
  await load();
  const wanted = query.scope || query.caller;
  if (wanted) form.fill(wanted);
}

// --- the list ---------------------------------------------------------------------------

/** The scope in words, with the team's or key's name when known. */
export function scopeCell(scope, names) {
  const code = h("code", {}, scopeKey(scope));
  if (scope.kind === "team") {
    const team = names.teams.get(scope.id);
    return team
      ? [h("a", { href: `/ui/admin/teams/${team.id}`, "data-link": true }, `Team ${team.name}`), h("br"), code]
      : [h("span", {}, `Team ${scope.id} `, h("span", { class: "tag" }, "no such team")), h("br"), code];
  }
  if (scope.kind === "key") {
    const key = names.keys.get(scope.id);
    return [h("span", {}, key ? `Key ${key.name}` : `Key ${scope.id}`,
      key && key.revoked_at ? h("span", { class: "tag" }, "revoked") : null), h("br"), code];
  }
  return [h("span", {}, "Person"), h("br"), code];
}

function scopeWords(budget, names) {
  const { kind, id } = budget.scope;
  const known = kind === "team" ? names.teams.get(id) : kind === "key" ? names.keys.get(id) : null;
  const who = kind === "person" ? id : known ? `${kind} “${known.name}”` : `${kind} ${id}`;
  return `the ${periodText(budget).toLowerCase()} budget of ${who}${budget.model ? ` on ${budget.model}` : ""}`;
}

function budgetTable(budgets, context) {
  if (budgets.length === 0) return h("p", { class: "muted" }, "No budgets: everyone may spend without limit.");
  const rows = [];
  for (const budget of budgets) {
    const what = scopeWords(budget, context.names);
    const edit = h("button", {
      type: "button", class: "secondary", "data-action": "edit", "data-id": budget.id,
      "aria-label": `Change ${what}`, "aria-expanded": "false",
    }, "Change");
    const remove = h("button", {
      type: "button", class: "danger", "data-action": "remove", "data-id": budget.id,
      "aria-label": `Remove ${what}`,
    }, "Remove");
    const row = h("tr", { "data-id": budget.id, "data-scope": scopeKey(budget.scope) },
      h("td", {}, scopeCell(budget.scope, context.names)),
      h("td", { "data-field": "model" }, budget.model ? h("code", {}, budget.model) : h("span", { class: "muted" }, "all models")),
      h("td", { "data-field": "period" }, periodText(budget)),
      h("td", { class: "num", "data-field": "limit" }, usd(budget.limit_usd)),
      h("td", { "data-field": "hard" }, h("span", { class: `tag ${budget.hard ? "hard" : "soft"}` }, hardText(budget))),
      h("td", { class: "num", "data-field": "spent" }, usd(budget.spent_usd)),
      h("td", { class: "num hide-narrow", "data-field": "reserved" }, usd(budget.reserved_usd)),
      h("td", { class: "num", "data-field": "remaining" }, remainingText(budget), h("br"),
        budgetMeter(budget, `${what}: ${usd(budget.spent_usd + budget.reserved_usd)} of ${usd(budget.limit_usd)} used`)),
      h("td", { "data-field": "window" }, windowText(budget)),
      h("td", { class: "hide-narrow", "data-field": "thresholds" }, thresholdsText(budget)),
      h("td", {}, h("div", { class: "row actions" }, edit, remove)),
    );
    rows.push(row);
    edit.addEventListener("click", () => toggleEditor(row, budget, edit, what, context));
    remove.addEventListener("click", async () => {
      const ok = await context.dialog.ask(`Remove ${what}?`,
        "Its limit and alerts stop applying at once; the spend it counted stays in the ledger.", "Remove");
      if (!ok) { remove.focus(); return; }
      remove.disabled = true;
      try {
        await api(`/admin/v1/budgets/${budget.id}`, { method: "DELETE" });
        await context.reload();
        context.status.replaceChildren(notice(`Removed ${what}.`, "ok"));
      } catch (error) {
        remove.disabled = false;
        context.status.replaceChildren(notice(error.message));
      }
    });
  }
  return h("div", { class: "table-wrap" }, h("table", { id: "budgets" },
    h("caption", { class: "sr-only" }, "Budgets, with their current window's spend"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Applies to"),
      h("th", { scope: "col" }, "Model"),
      h("th", { scope: "col" }, "Period"),
      h("th", { scope: "col", class: "num" }, "Limit"),
      h("th", { scope: "col" }, "Kind"),
      h("th", { scope: "col", class: "num" }, "Spent"),
      h("th", { scope: "col", class: "num hide-narrow" }, "Reserved"),
      h("th", { scope: "col", class: "num" }, "Remaining"),
      h("th", { scope: "col" }, "Window (UTC)"),
      h("th", { scope: "col", class: "hide-narrow" }, "Alerts at"),
      h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")),
    )),
    h("tbody", {}, rows),
  ));
}

function toggleEditor(row, budget, button, what, context) {
  const next = row.nextElementSibling;
  if (next && next.classList.contains("editor")) {
    next.remove();
    button.setAttribute("aria-expanded", "false");
    return;
  }
  const limit = h("input", {
    name: "limit_usd", id: `edit-limit-${budget.id}`, type: "number", min: 0, step: "any",
    inputmode: "decimal", value: budget.limit_usd, required: true,
  });
  const thresholds = h("input", {
    name: "thresholds", id: `edit-thresholds-${budget.id}`, value: budget.thresholds.join(", "),
    autocomplete: "off", inputmode: "numeric",
  });
  const kind = hardChoice(`edit-hard-${budget.id}`, budget.hard);
  const status = h("div", { class: "form-status", "aria-live": "polite" });
  const save = h("button", { type: "submit" }, "Save");
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  const form = h("form", {
    id: `edit-budget-${budget.id}`, class: "edit-budget", "data-id": budget.id, novalidate: true,
    "aria-label": `Change ${what}`,
  },
    h("div", { class: "form-grid" },
      field("Limit (USD)", limit),
      kind.element,
      field("Alert thresholds (%)", thresholds, "Percentages of the limit, comma-separated; empty: no alerts."),
    ),
    h("div", { class: "row" }, save, cancel),
    status,
  );
  cancel.addEventListener("click", () => {
    editor.remove();
    button.setAttribute("aria-expanded", "false");
    button.focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    status.replaceChildren();
    const changes = {};
    const amount = readLimit(limit);
    if (amount === undefined) return;
    if (amount !== budget.limit_usd) changes.limit_usd = amount;
    if (kind.value() !== budget.hard) changes.hard = kind.value();
    const percentages = readThresholds(thresholds);
    if (percentages === undefined) return;
    if (JSON.stringify(percentages) !== JSON.stringify(budget.thresholds)) changes.thresholds = percentages;
    if (Object.keys(changes).length === 0) {
      status.replaceChildren(notice("Nothing changed.", "info"));
      return;
    }
    save.disabled = true;
    try {
      await api(`/admin/v1/budgets/${budget.id}`, { method: "PATCH", body: changes });
      await context.reload();
      context.status.replaceChildren(notice(`Saved ${what}.`, "ok"));
      const again = document.querySelector(`#budgets button[data-action=edit][data-id="${budget.id}"]`);
      if (again) again.focus();
    } catch (error) {
      showError(form, status, error);
      save.disabled = false;
    }
  });
  const editor = h("tr", { class: "editor", "data-editor-for": budget.id }, h("td", { colspan: 11 }, form));
  row.after(editor);
  button.setAttribute("aria-expanded", "true");
  limit.focus();
}

// --- creating one -----------------------------------------------------------------------

function budgetForm(context) {
  const kind = h("select", { name: "scope_kind", id: "budget-scope-kind" },
    h("option", { value: "team" }, "A team"),
    h("option", { value: "person" }, "A person"),
    h("option", { value: "key" }, "An API key"));
  const id = h("input", {
    name: "scope_id", id: "budget-scope-id", required: true, autocomplete: "off", spellcheck: "false",
    list: "budget-scope-ids",
  });
  const idList = h("datalist", { id: "budget-scope-ids" });
  const idField = field(SCOPES.team.label, id, SCOPES.team.hint);
  const model = h("input", {
    name: "model", id: "budget-model", autocomplete: "off", spellcheck: "false", list: "budget-models",
    placeholder: "all models",
  });
  const modelList = h("datalist", { id: "budget-models" });
  const period = h("select", { name: "period", id: "budget-period" },
    h("option", { value: "day" }, "Daily (UTC day)"),
    h("option", { value: "week" }, "Weekly (Monday to Sunday, UTC)"),
    h("option", { value: "month", selected: true }, "Monthly (UTC month)"),
    h("option", { value: "rolling" }, "Rolling (the last N days)"));
  const days = h("input", {
    name: "days", id: "budget-days", type: "number", min: 1, max: 92, step: 1, inputmode: "numeric", value: 7,
  });
  const daysField = field("Days", days, "1 to 92: the window is the last N UTC days, today included.");
  daysField.hidden = true;
  const limit = h("input", {
    name: "limit_usd", id: "budget-limit", type: "number", min: 0, step: "any", inputmode: "decimal", required: true,
  });
  const hard = hardChoice("budget-hard", true);
  const thresholds = h("input", {
    name: "thresholds", id: "budget-thresholds", value: "80, 100", autocomplete: "off", inputmode: "numeric",
  });
  const status = h("div", { class: "form-status", "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Create budget");
  const element = h("form", { id: "create-budget", class: "card", novalidate: true },
    h("h2", {}, "New budget"),
    h("div", { class: "form-grid" },
      field("Applies to", kind),
      idField,
      field("Model", model, "A model id; empty: every model."),
      field("Period", period),
      daysField,
      field("Limit (USD)", limit),
      hard.element,
      field("Alert thresholds (%)", thresholds, "Percentages of the limit, comma-separated; empty: no alerts."),
    ),
    idList, modelList,
    h("div", { class: "row" }, submit),
    status,
  );

  function kindChanged() {
    const scope = SCOPES[kind.value];
    idField.querySelector("label").textContent = scope.label;
    idField.querySelector("small").textContent = scope.hint;
    fillIds();
  }
  function fillIds() {
    let options = [];
    if (kind.value === "team") {
      options = [...context.names.teams.values()].map((t) => h("option", { value: String(t.id) }, t.name));
    } else if (kind.value === "key") {
      options = [...context.names.keys.values()].filter((k) => !k.revoked_at)
        .map((k) => h("option", { value: String(k.id) }, k.name));
    } else {
      const people = new Set([...context.names.keys.values()].map((k) => k.person).filter(Boolean));
      options = [...people].sort().map((p) => h("option", { value: p }));
    }
    clear(idList, options);
  }
  kind.addEventListener("change", kindChanged);
  period.addEventListener("change", () => { daysField.hidden = period.value !== "rolling"; });

  /** The scope's id: a team or key is named by its id, or by a name that is one's alone. */
  function scopeId() {
    const text = id.value.trim();
    if (!text) {
      fieldError(id, `Say which ${SCOPES[kind.value].label.toLowerCase()} this budget is for.`);
      return undefined;
    }
    if (kind.value === "person" || /^[1-9][0-9]{0,9}$/.test(text)) return text;
    const all = kind.value === "team" ? context.names.teams : context.names.keys;
    const named = [...all.values()].filter((item) => item.name === text && !item.revoked_at);
    if (named.length === 1) return String(named[0].id);
    const what = kind.value === "team" ? "team" : "key";
    fieldError(id, named.length > 1
      ? `More than one ${what} is named “${text}”: give its id.`
      : `No ${what} is named “${text}”: give its id or pick one from the list.`);
    return undefined;
  }

  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(element);
    status.replaceChildren();
    context.status.replaceChildren();
    const scope = scopeId();
    if (scope === undefined) return;
    const body = { scope: `${kind.value}:${scope}`, period: period.value };
    const modelId = model.value.trim();
    if (modelId) body.model = modelId;
    if (period.value === "rolling") {
      const count = Number(days.value);
      if (days.value.trim() === "" || !Number.isInteger(count) || count < 1 || count > 92) {
        fieldError(days, "A rolling budget covers 1 to 92 days: give a whole number.");
        return;
      }
      body.days = count;
    }
    const amount = readLimit(limit);
    if (amount === undefined) return;
    body.limit_usd = amount;
    body.hard = hard.value();
    const percentages = readThresholds(thresholds);
    if (percentages === undefined) return;
    body.thresholds = percentages;
    submit.disabled = true;
    try {
      await api("/admin/v1/budgets", { method: "POST", body });
      const known = kind.value === "team" ? context.names.teams.get(scope)
        : kind.value === "key" ? context.names.keys.get(scope) : null;
      element.reset();
      daysField.hidden = true;
      kindChanged();
      await context.reload();
      context.status.replaceChildren(notice(
        `The budget of ${known ? known.name : body.scope} is created.`, "ok"));
    } catch (error) {
      showError(element, status, error);
    } finally {
      submit.disabled = false;
    }
  });
  return {
    element,
    namesChanged() {
      fillIds();
      clear(modelList, context.names.models.map((m) => h("option", { value: m })));
    },
    fill(scope) {
      const found = /^(team|person|key|jwt):(.+)$/.exec(scope);
      if (!found) return;
      kind.value = found[1] === "jwt" ? "person" : found[1];
      kindChanged();
      id.value = found[2];
      element.scrollIntoView({ block: "nearest" });
      limit.focus();
    },
  };
}

// --- helpers ----------------------------------------------------------------------------

/** Hard or soft, as two radio buttons in a fieldset; ``value()`` is true for hard. */
function hardChoice(prefix, hard) {
  const yes = h("input", { type: "radio", name: "hard", value: "hard", id: `${prefix}-hard`, checked: hard });
  const no = h("input", { type: "radio", name: "hard", value: "soft", id: `${prefix}-soft`, checked: !hard });
  const element = h("fieldset", { class: "choice" },
    h("legend", {}, "At the limit"),
    h("label", { for: yes.id }, yes, " Hard: refuse requests"),
    h("label", { for: no.id }, no, " Soft: alerts only"));
  return { element, value: () => yes.checked };
}

/** The limit in USD, or undefined (with the error shown). */
function readLimit(input) {
  const text = input.value.trim();
  if (input.validity.badInput || text === "") {
    fieldError(input, input.validity.badInput ? "Not a number." : "Give the limit in USD (0 or more).");
    return undefined;
  }
  const amount = Number(text);
  if (!Number.isFinite(amount) || amount < 0) {
    fieldError(input, "A limit is 0 USD or more.");
    return undefined;
  }
  return amount;
}

/** "80, 100%" as [80, 100]; empty as []; undefined (with the error shown) if not percentages. */
function readThresholds(input) {
  const parts = input.value.split(/[\s,;]+/).map((p) => p.replace(/%$/, "")).filter(Boolean);
  const values = parts.map(Number);
  if (values.some((v) => !Number.isInteger(v) || v < 1 || v > 1000) || values.length > 10) {
    fieldError(input, "Give up to 10 whole percentages from 1 to 1000, such as 50, 80, 100.");
    return undefined;
  }
  return [...new Set(values)].sort((a, b) => a - b);
}

/** An API error next to the field its ``param`` names (``scope`` is the id field,
``thresholds[0]`` the thresholds field, ``hard`` the hard-or-soft choice). */
function showError(form, status, error) {
  const param = error instanceof ApiError && error.param ? String(error.param) : "";
  let name = param.split(/[.[]/)[0];
  if (name === "scope") name = "scope_id";
  let input = name ? form.elements.namedItem(name) : null;
  if (input instanceof RadioNodeList) input = input[0] || null;
  if (input instanceof HTMLElement && !input.closest("[hidden]")) fieldError(input, error.message);
  else status.replaceChildren(notice(error.message));
}
