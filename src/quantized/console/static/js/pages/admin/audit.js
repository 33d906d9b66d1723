// Admin: the audit log, newest first: who changed which model, key, budget or team, when, and
// how. GET /admin/v1/audit with limit, before (the "Older" page), entity, entity_id, actor,
// since and until (UTC days);
// the filters are the page's URL query, so a filtered view can be shared.

import { ApiError, api } from "../../api.js";
import { clear, field, h, notice } from "../../dom.js";

const FILTERS = ["entity", "entity_id", "actor", "since", "until", "limit"];
const LIMITS = ["25", "50", "100", "200", "500"];

export async function render(main, { query, navigate }) {
  const inputs = {
    entity: h("select", { name: "entity" },
      h("option", { value: "" }, "any"),
      ["model", "key", "budget", "team"].map((e) => h("option", { value: e, selected: query.entity === e }, e))),
    entity_id: h("input", {
      name: "entity_id", value: query.entity_id || "", autocomplete: "off", spellcheck: "false",
      placeholder: "openai/gpt-4.1, 3, key:3",
    }),
    actor: h("input", {
      name: "actor", value: query.actor || "", autocomplete: "off", spellcheck: "false",
      placeholder: "an actor id",
    }),
    since: h("input", { type: "date", name: "since", value: query.since || "" }),
    until: h("input", { type: "date", name: "until", value: query.until || "" }),
    limit: h("select", { name: "limit" },
      LIMITS.map((n) => h("option", { value: n, selected: (query.limit || "50") === n }, n))),
  };
  const form = h("form", { id: "audit-filters", class: "filters", role: "search" },
    field("Entity", inputs.entity),
    field("Entity id", inputs.entity_id),
    field("Actor id", inputs.actor),
    field("From (UTC)", inputs.since),
    field("To (UTC)", inputs.until),
    field("Per page", inputs.limit),
    h("button", { type: "submit" }, "Filter"),
    h("a", { href: "/ui/admin/audit", "data-link": true, class: "reset" }, "Clear"),
  );
  const status = h("div", { id: "audit-status", "aria-live": "polite" });
  const slot = h("div", { id: "audit-table" }, h("p", { class: "muted" }, "Loading…"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const name of FILTERS) {
      const value = inputs[name].value.trim();
      if (value && !(name === "limit" && value === "50")) params.set(name, value);
    }
    navigate(`/ui/admin/audit${params.size ? `?${params}` : ""}`);
  });
  main.append(h("h1", {}, "Audit log"), form, status, slot);

  const params = {};
  for (const name of [...FILTERS, "before"]) if (query[name]) params[name] = query[name];
  if (!params.limit) params.limit = "50";
  let page;
  try {
    page = await api("/admin/v1/audit", { query: params });
  } catch (error) {
    const input = error instanceof ApiError && error.param ? inputs[error.param] : null;
    clear(slot);
    if (input) {
      const errorId = `${error.param}-error`;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", errorId);
      const said = notice(error.message);
      said.id = errorId;
      said.classList.add("field-error");
      input.closest(".field").append(said);
    } else {
      status.replaceChildren(notice(error.message));
    }
    return;
  }

  const pageLink = (before) => {
    const next = new URLSearchParams();
    for (const name of FILTERS) if (query[name]) next.set(name, query[name]);
    if (before) next.set("before", String(before));
    return `/ui/admin/audit${next.size ? `?${next}` : ""}`;
  };
  const paging = h("nav", { class: "row paging", "aria-label": "Pages" },
    query.before ? h("a", { href: pageLink(null), "data-link": true, id: "audit-newest" }, "Newest") : null,
    page.has_more && page.data.length
      ? h("a", { href: pageLink(page.data[page.data.length - 1].id), "data-link": true, id: "audit-older", rel: "next" }, "Older")
      : null,
  );
  if (page.data.length === 0) {
    clear(slot, h("p", { class: "muted" }, query.before ? "No older entries." : "No entries match."), paging);
    return;
  }
  clear(slot,
    h("p", { class: "muted" }, `${page.data.length} entries${query.before ? ` older than #${query.before}` : ""}, newest first.`),
    h("div", { class: "table-wrap" }, h("table", { id: "audit" },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col", class: "num" }, "#"),
        h("th", { scope: "col" }, "When (UTC)"),
        h("th", { scope: "col" }, "Actor"),
        h("th", { scope: "col" }, "Action"),
        h("th", { scope: "col" }, "Entity"),
        h("th", { scope: "col" }, "Changes"),
      )),
      h("tbody", {}, page.data.map((entry) => entryRow(entry))),
    )),
    paging,
  );
}

function entryRow(entry) {
  const iso = new Date(entry.at * 1000).toISOString();
  const filter = (name, value, text) => h("a", {
    href: `/ui/admin/audit?${new URLSearchParams({ [name]: value })}`, "data-link": true,
    title: `Only ${name === "actor" ? "this actor's changes" : "changes to this"}`,
  }, text);
  return h("tr", { "data-id": entry.id },
    h("td", { class: "num" }, entry.id),
    h("td", {}, h("time", { datetime: iso }, `${iso.slice(0, 10)} ${iso.slice(11, 19)}`)),
    h("td", {}, filter("actor", entry.actor.id, entry.actor.name || entry.actor.id),
      h("div", { class: "muted" }, `${entry.actor.kind} ${entry.actor.id}`)),
    h("td", {}, h("code", {}, entry.action)),
    h("td", {}, h("span", { class: "muted" }, `${entry.entity} `),
      filter("entity_id", entry.entity_id, entry.entity_id)),
    h("td", {}, changes(entry)),
  );
}

/** The fields that differ (dotted for nested ones), then the whole before and after. */
function changes(entry) {
  const before = flatten(entry.before || {});
  const after = flatten(entry.after || {});
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .filter((name) => JSON.stringify(before[name]) !== JSON.stringify(after[name]));
  let summary;
  if (!entry.before) summary = h("span", { class: "muted" }, "created");
  else if (!entry.after) summary = h("span", { class: "muted" }, "deleted");
  else if (names.length === 0) summary = h("span", { class: "muted" }, "no field changed");
  else {
    summary = h("ul", { class: "changes" }, names.slice(0, 12).map((name) => h("li", {},
      h("code", {}, name), ": ", h("del", {}, shown(name, before[name])), " → ", h("ins", {}, shown(name, after[name])))),
    names.length > 12 ? h("li", { class: "muted" }, `and ${names.length - 12} more`) : null);
  }
  return h("div", {}, summary, h("details", {},
    h("summary", {}, "Before and after"),
    h("div", { class: "grid" },
      h("div", {}, h("strong", {}, "Before"), h("pre", {}, entry.before ? JSON.stringify(entry.before, null, 2) : "—")),
      h("div", {}, h("strong", {}, "After"), h("pre", {}, entry.after ? JSON.stringify(entry.after, null, 2) : "—")))));
}

function flatten(value, prefix = "", into = {}) {
  for (const [key, inner] of Object.entries(value)) {
    if (inner && typeof inner === "object" && !Array.isArray(inner)) flatten(inner, `${prefix}${key}.`, into);
    else into[`${prefix}${key}`] = inner;
  }
  return into;
}

function shown(name, value) {
  if (value === undefined || value === null) return "none";
  if (typeof value === "object") return JSON.stringify(value);
  if (typeof value === "number" && /(_at|^created)$/.test(name)) {
    return new Date(value * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
  }
  return String(value);
}
