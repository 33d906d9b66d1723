// Admin: spending limits per caller (an API key or a token subject), with what each spent
// today and this month and what is left. GET /admin/v1/budgets,
// PUT/DELETE /admin/v1/budgets/{key|jwt}/{id}.

import { ApiError, api } from "../../api.js";
import { clear, field, h, notice, usd } from "../../dom.js";
import { clearErrors, confirmDialog, fieldError } from "../../forms.js";

export async function render(main, { query }) {
  const status = h("div", { id: "budgets-status", "aria-live": "polite" });
  const tableSlot = h("div", { id: "budgets-table" }, h("p", { class: "muted" }, "Loading budgets…"));
  const dialog = confirmDialog();
  const keyNames = new Map();
  const form = budgetForm({ status, reload: () => load(), keyNames });
  main.append(
    h("h1", {}, "Budgets"),
    h("p", { class: "muted" },
      "A caller at or over a limit gets 429 budget_exceeded until the UTC day or month ends."),
    form.element,
    h("h2", {}, "Limits"),
    status,
    tableSlot,
    dialog.element,
  );

  async function load() {
    let budgets;
    try {
      const [found, keys] = await Promise.all([
        api("/admin/v1/budgets"),
        api("/admin/v1/keys").catch(() => ({ data: [] })),
      ]);
      budgets = found.data;
      keyNames.clear();
      for (const key of keys.data) keyNames.set(String(key.id), key);
      form.keysChanged();
    } catch (error) {
      clear(tableSlot, notice(error.message));
      return;
    }
    clear(tableSlot, budgetTable(budgets, { status, dialog, reload: load, form, keyNames }));
  }
  await load();
  if (query.caller) form.fill(query.caller);
}

function callerText(caller) {
  return `${caller.kind}:${caller.id}`;
}

function callerPath(kind, id) {
  return `/admin/v1/budgets/${kind}/${encodeURIComponent(id)}`;
}

function budgetTable(budgets, context) {
  if (budgets.length === 0) return h("p", { class: "muted" }, "No budgets: every caller may spend without limit.");
  const rows = budgets.map((budget) => {
    const who = callerText(budget.caller);
    const key = budget.caller.kind === "key" ? context.keyNames.get(budget.caller.id) : null;
    const edit = h("button", {
      type: "button", class: "secondary", "data-action": "edit", "data-caller": who,
      "aria-label": `Change the limits of ${who}`,
    }, "Change");
    const remove = h("button", {
      type: "button", class: "danger", "data-action": "remove", "data-caller": who,
      "aria-label": `Remove the limits of ${who}`,
    }, "Remove");
    edit.addEventListener("click", () => context.form.fill(who, budget));
    remove.addEventListener("click", async () => {
      const ok = await context.dialog.ask(`Remove the limits of ${who}?`,
        "The caller may then spend without limit.", "Remove");
      if (!ok) { remove.focus(); return; }
      remove.disabled = true;
      try {
        await api(callerPath(budget.caller.kind, budget.caller.id), { method: "DELETE" });
        context.status.replaceChildren(notice(`The limits of ${who} are removed.`, "ok"));
        await context.reload();
      } catch (error) {
        remove.disabled = false;
        context.status.replaceChildren(notice(error.message));
      }
    });
    return h("tr", { "data-caller": who },
      h("td", {}, h("code", {}, who), key ? h("div", { class: "muted" }, key.name) : null),
      h("td", { class: "num" }, limitText(budget.daily_usd)),
      h("td", { class: "num" }, usd(budget.spent_today_usd)),
      h("td", { class: "num", "data-left": "day" }, left(budget.daily_usd, budget.spent_today_usd)),
      h("td", { class: "num" }, limitText(budget.monthly_usd)),
      h("td", { class: "num" }, usd(budget.spent_this_month_usd)),
      h("td", { class: "num", "data-left": "month" }, left(budget.monthly_usd, budget.spent_this_month_usd)),
      h("td", {}, h("div", { class: "row actions" }, edit, remove)),
    );
  });
  return h("div", { class: "table-wrap" }, h("table", { id: "budgets" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Caller"),
      h("th", { scope: "col", class: "num" }, "Daily limit"),
      h("th", { scope: "col", class: "num" }, "Spent today"),
      h("th", { scope: "col", class: "num" }, "Left today"),
      h("th", { scope: "col", class: "num" }, "Monthly limit"),
      h("th", { scope: "col", class: "num" }, "Spent this month"),
      h("th", { scope: "col", class: "num" }, "Left this month"),
      h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")),
    )),
    h("tbody", {}, rows),
  ));
}

function limitText(limit) {
  return limit === null || limit === undefined ? h("span", { class: "muted" }, "no limit") : usd(limit);
}

function left(limit, spent) {
  if (limit === null || limit === undefined) return h("span", { class: "muted" }, "—");
  const remaining = Math.max(0, limit - spent);
  const meter = h("meter", {
    min: 0, max: limit || 1, low: (limit || 1) * 0.75, high: (limit || 1) * 0.9, optimum: 0,
    value: Math.min(spent, limit || 1), "aria-label": `${usd(spent)} of ${usd(limit)} spent`,
  });
  return h("span", { class: remaining === 0 ? "over" : null },
    usd(remaining), remaining === 0 ? " (limit reached)" : null, h("br"), meter);
}

function budgetForm(context) {
  const kind = h("select", { name: "kind" },
    h("option", { value: "key" }, "API key"), h("option", { value: "jwt" }, "Token subject (JWT)"));
  const id = h("input", { name: "id", required: true, autocomplete: "off", spellcheck: "false", list: "budget-keys" });
  const keyList = h("datalist", { id: "budget-keys" });
  const daily = h("input", { name: "daily_usd", type: "number", min: 0, step: "any", inputmode: "decimal" });
  const monthly = h("input", { name: "monthly_usd", type: "number", min: 0, step: "any", inputmode: "decimal" });
  const status = h("div", { class: "form-status", "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Set limits");
  const idHint = h("small", {}, "The key's id (see Keys).");
  const idField = field("Key id or subject", id);
  idField.append(idHint);
  const element = h("form", { id: "set-budget", class: "card", novalidate: true },
    h("h2", {}, "Set a caller's limits"),
    h("div", { class: "form-grid" },
      field("Caller", kind),
      idField,
      field("Daily limit (USD)", daily, "Empty: no daily limit."),
      field("Monthly limit (USD)", monthly, "Empty: no monthly limit."),
    ),
    keyList,
    h("div", { class: "row" }, submit),
    status,
  );
  kind.addEventListener("change", () => {
    idHint.textContent = kind.value === "key" ? "The key's id (see Keys)." : "The token's subject (sub claim).";
    if (kind.value === "key") id.setAttribute("list", "budget-keys");
    else id.removeAttribute("list");
  });
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(element);
    status.replaceChildren();
    const subject = id.value.trim();
    if (!subject) { fieldError(id, "Say whose limits these are."); return; }
    const body = {};
    for (const [name, input] of [["daily_usd", daily], ["monthly_usd", monthly]]) {
      if (input.validity.badInput) { fieldError(input, "Not a number."); return; }
      body[name] = input.value.trim() === "" ? null : Number(input.value);
    }
    submit.disabled = true;
    try {
      const saved = await api(callerPath(kind.value, subject), { method: "PUT", body });
      context.status.replaceChildren(notice(`The limits of ${callerText(saved.caller)} are set.`, "ok"));
      element.reset();
      await context.reload();
    } catch (error) {
      const param = error instanceof ApiError ? String(error.param || "") : "";
      if (param === "daily_usd") fieldError(daily, error.message);
      else if (param === "monthly_usd") fieldError(monthly, error.message);
      else if (error instanceof ApiError && (error.status === 404 || param === "id" || param === "caller")) {
        fieldError(id, error.message);
      } else status.replaceChildren(notice(error.message));
    } finally {
      submit.disabled = false;
    }
  });
  return {
    element,
    keysChanged() {
      clear(keyList, [...context.keyNames.values()].filter((k) => !k.revoked_at)
        .map((k) => h("option", { value: String(k.id) }, k.name)));
    },
    fill(who, budget) {
      const [k, ...rest] = who.split(":");
      if (k !== "key" && k !== "jwt") return;
      kind.value = k;
      kind.dispatchEvent(new Event("change"));
      id.value = rest.join(":");
      daily.value = budget && budget.daily_usd !== null ? budget.daily_usd : "";
      monthly.value = budget && budget.monthly_usd !== null ? budget.monthly_usd : "";
      element.scrollIntoView({ block: "nearest" });
      daily.focus();
    },
  };
}

// --- helpers ----------------------------------------------------------------------------

