// Admin: teams. /ui/admin/teams lists them (models, members, keys) and creates one;
// /ui/admin/teams/<id> shows one: change its name and models, add and remove members, its
// keys, the budgets that apply to its requests; and deletes it (a team with keys is kept
// unless its keys are revoked with it). GET/POST /admin/v1/teams,
// GET/PATCH/DELETE /admin/v1/teams/{id}, GET /admin/v1/teams/{id}/members,
// PUT/DELETE /admin/v1/teams/{id}/members/{person}.

import { ApiError, api } from "../../api.js";
import {
  budgetMeter, hardText, periodText, remainingText, scopeKey, sortBudgets, windowText,
} from "../../budget-view.js";
import { clear, field, h, notice, usd } from "../../dom.js";
import { clearErrors, confirmDialog, fieldError } from "../../forms.js";
import { scopeCell } from "./budgets.js";

export async function render(main, context) {
  if (context.params.id !== undefined) return renderTeam(main, context);
  return renderList(main, context);
}

// --- the list ---------------------------------------------------------------------------

async function renderList(main, { navigate }) {
  const status = h("div", { id: "teams-status", "aria-live": "polite" });
  const tableSlot = h("div", { id: "teams-table" }, h("p", { class: "muted" }, "Loading teams…"));
  const dialog = confirmDialog();
  main.append(
    h("h1", {}, "Teams"),
    h("p", { class: "muted" },
      "A team names the models its members and its keys may use (with a key's or token's own list, "
      + "both must allow a model); budgets can limit what a whole team spends."),
    createForm(navigate),
    h("h2", {}, "Teams"),
    status,
    tableSlot,
    dialog.element,
  );

  async function load() {
    let teams;
    try {
      teams = (await api("/admin/v1/teams")).data;
    } catch (error) {
      clear(tableSlot, notice(error.message));
      return;
    }
    clear(tableSlot, teamsTable(teams, { status, dialog, reload: load }));
  }
  await load();
}

function createForm(navigate) {
  const name = h("input", { name: "name", id: "team-name", required: true, maxlength: 200, autocomplete: "off" });
  const models = h("input", {
    name: "models", id: "team-models", autocomplete: "off", spellcheck: "false",
    placeholder: "openai/*, anthropic/claude-haiku-4.5",
  });
  const status = h("div", { class: "form-status", "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Create team");
  const form = h("form", { id: "create-team", class: "card", novalidate: true },
    h("h2", {}, "New team"),
    h("div", { class: "form-grid" },
      field("Name", name),
      field("Models", models, "Comma-separated ids or globs; empty: every model."),
    ),
    h("div", { class: "row" }, submit),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    status.replaceChildren();
    const text = name.value.trim();
    if (!text) { fieldError(name, "A team needs a name."); return; }
    if (/^[0-9]+$/.test(text)) { fieldError(name, "A team's name cannot be only digits (those are ids)."); return; }
    const body = { name: text };
    const list = splitList(models.value);
    if (list !== null) body.models = list;
    submit.disabled = true;
    try {
      const created = await api("/admin/v1/teams", { method: "POST", body });
      await navigate(`/ui/admin/teams/${created.id}?created=1`);
    } catch (error) {
      showError(form, status, error);
      submit.disabled = false;
    }
  });
  return form;
}

function teamsTable(teams, context) {
  if (teams.length === 0) return h("p", { class: "muted" }, "No teams yet.");
  const rows = teams.map((team) => {
    const remove = h("button", {
      type: "button", class: "danger", "data-action": "delete", "data-id": team.id,
      "aria-label": `Delete team ${team.name}`,
    }, "Delete");
    remove.addEventListener("click", () => deleteTeam(team, remove, {
      ...context, done: async (text) => {
        context.status.replaceChildren(notice(text, "ok"));
        await context.reload();
      },
    }));
    return h("tr", { "data-id": team.id },
      h("td", {}, h("a", { href: `/ui/admin/teams/${team.id}`, "data-link": true, class: "team-name" }, team.name)),
      h("td", { class: "num" }, team.id),
      h("td", { "data-field": "models" }, modelsCell(team.models)),
      h("td", { class: "num", "data-field": "members" }, team.member_count),
      h("td", { class: "num", "data-field": "keys" }, team.key_count),
      h("td", {}, h("div", { class: "row actions" }, remove)),
    );
  });
  return h("div", { class: "table-wrap" }, h("table", { id: "teams" },
    h("caption", { class: "sr-only" }, "Teams"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Name"),
      h("th", { scope: "col", class: "num" }, "Id"),
      h("th", { scope: "col" }, "Models"),
      h("th", { scope: "col", class: "num" }, "Members"),
      h("th", { scope: "col", class: "num" }, "Keys"),
      h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")),
    )),
    h("tbody", {}, rows),
  ));
}

/** Delete a team after asking; a team with keys is refused: say so, and offer to revoke its
keys with it (asked again). ``context.done(text)`` runs after. */
async function deleteTeam(team, button, context) {
  const ok = await context.dialog.ask(`Delete team “${team.name}”?`,
    "Its members leave it, and the models it allows stop applying to them. This cannot be undone.",
    "Delete");
  if (!ok) { button.focus(); return; }
  button.disabled = true;
  try {
    await api(`/admin/v1/teams/${team.id}`, { method: "DELETE" });
    await context.done(`Team “${team.name}” is deleted.`);
  } catch (error) {
    button.disabled = false;
    if (!(error instanceof ApiError) || error.code !== "team_has_keys") {
      context.status.replaceChildren(notice(error.message));
      return;
    }
    const revoke = h("button", {
      type: "button", class: "danger", id: "revoke-and-delete", "data-action": "revoke-and-delete",
    }, "Revoke its keys and delete");
    context.status.replaceChildren(notice(error.message), h("div", { class: "row" }, revoke));
    revoke.addEventListener("click", async () => {
      const sure = await context.dialog.ask(`Revoke the keys of “${team.name}” and delete it?`,
        "Requests with its keys are refused within a second. This cannot be undone.",
        "Revoke keys and delete");
      if (!sure) { revoke.focus(); return; }
      revoke.disabled = true;
      try {
        const deleted = await api(`/admin/v1/teams/${team.id}`, { method: "DELETE", query: { revoke_keys: "true" } });
        const ids = deleted.revoked_key_ids || [];
        await context.done(`Team “${team.name}” is deleted${ids.length
          ? `, and its ${ids.length === 1 ? "key" : "keys"} ${ids.join(", ")} revoked` : ""}.`);
      } catch (again) {
        revoke.disabled = false;
        context.status.replaceChildren(notice(again.message));
      }
    });
    revoke.focus();
  }
}

// --- one team ---------------------------------------------------------------------------

async function renderTeam(main, { params, query, navigate }) {
  const teamId = params.id;
  if (!/^[1-9][0-9]{0,9}$/.test(teamId)) {
    main.append(h("h1", {}, "Not found"), notice(`There is no team ${teamId}.`));
    return;
  }
  const back = h("p", { class: "back" }, h("a", { href: "/ui/admin/teams", "data-link": true }, "← All teams"));
  let found;
  try {
    found = await Promise.all([
      api(`/admin/v1/teams/${teamId}`),
      api(`/admin/v1/teams/${teamId}/members`),
      api("/admin/v1/keys").catch(() => ({ data: [] })),
      api("/admin/v1/budgets").catch(() => null),
    ]);
  } catch (error) {
    const missing = error instanceof ApiError && error.status === 404;
    main.append(back, h("h1", {}, missing ? "Not found" : "Team"), notice(error.message));
    return;
  }
  const [team, members, keys, budgets] = found;
  const status = h("div", { id: "team-status", "aria-live": "polite" });
  if (query.created) status.append(notice(`Team “${team.name}” is created: add its members below.`, "ok"));
  const dialog = confirmDialog();
  // Draw the page again from the API, then say what changed and put the focus back.
  const reload = async (text, focus) => {
    await navigate(location.pathname, { replace: true });
    const again = document.getElementById("team-status");
    if (again && text) again.replaceChildren(notice(text, "ok"));
    const input = focus ? document.getElementById(focus) : null;
    if (input) input.focus();
  };
  const teamKeys = keys.data.filter((k) => k.team_id === team.id);
  const remove = h("button", { type: "button", class: "danger", id: "delete-team", "data-action": "delete" }, "Delete team");
  remove.addEventListener("click", () => deleteTeam(team, remove, {
    status, dialog, done: async (text) => {
      await navigate("/ui/admin/teams");
      const listStatus = document.getElementById("teams-status");
      if (listStatus) listStatus.replaceChildren(notice(text, "ok"));
    },
  }));
  main.append(
    back,
    h("h1", { "data-id": team.id }, `Team “${team.name}”`),
    status,
    h("dl", { class: "details", id: "team-details" },
      h("dt", {}, "Id"), h("dd", {}, String(team.id)),
      h("dt", {}, "Models"), h("dd", {}, modelsCell(team.models)),
      h("dt", {}, "Members"), h("dd", { "data-field": "members" }, String(team.member_count)),
      h("dt", {}, "Keys"), h("dd", { "data-field": "keys" }, String(team.key_count)),
      h("dt", {}, "Created"), h("dd", {}, when(team.created_at))),
    editForm(team, status, reload),
    membersSection(team, members.data, { status, dialog, reload }),
    keysSection(teamKeys),
    budgetsSection(team, members.data, teamKeys, budgets),
    h("section", { "aria-labelledby": "danger-title", class: "danger-zone" },
      h("h2", { id: "danger-title" }, "Delete"),
      h("p", { class: "muted" },
        "A team with keys that are not revoked is kept, unless its keys are revoked with it."),
      remove),
    dialog.element,
  );
}

function editForm(team, pageStatus, reload) {
  const name = h("input", { name: "name", id: "edit-team-name", value: team.name, required: true, maxlength: 200 });
  const models = h("input", {
    name: "models", id: "edit-team-models", value: team.models ? team.models.join(", ") : "", spellcheck: "false",
  });
  const status = h("div", { class: "form-status", "aria-live": "polite" });
  const save = h("button", { type: "submit" }, "Save");
  const form = h("form", { id: "edit-team", novalidate: true },
    h("div", { class: "form-grid" },
      field("Name", name),
      field("Models", models, "Comma-separated ids or globs; empty: every model."),
    ),
    h("div", { class: "row" }, save),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    status.replaceChildren();
    const changes = {};
    const text = name.value.trim();
    if (!text) { fieldError(name, "A team needs a name."); return; }
    if (text !== team.name) changes.name = text;
    const list = splitList(models.value);
    if (JSON.stringify(list) !== JSON.stringify(team.models)) changes.models = list;
    if (Object.keys(changes).length === 0) {
      status.replaceChildren(notice("Nothing changed.", "info"));
      return;
    }
    save.disabled = true;
    try {
      const changed = await api(`/admin/v1/teams/${team.id}`, { method: "PATCH", body: changes });
      await reload(`Team “${changed.name}” is saved.`);
    } catch (error) {
      showError(form, status, error);
      save.disabled = false;
    }
  });
  return h("details", { class: "card edit-team" }, h("summary", {}, "Change the name or models"), form);
}

function membersSection(team, members, context) {
  const person = h("input", {
    name: "person", id: "member-person", required: true, autocomplete: "off", spellcheck: "false",
    placeholder: "alice@example.com",
  });
  const status = h("div", { class: "form-status", "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Add member");
  const form = h("form", { id: "add-member", class: "filters", novalidate: true },
    field("Person", person, "A token subject or an e-mail address, as tokens name the person."),
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    status.replaceChildren();
    const who = person.value.trim();
    if (!who) { fieldError(person, "Say who: a token subject or an e-mail address."); return; }
    submit.disabled = true;
    try {
      const added = await api(`/admin/v1/teams/${team.id}/members/${encodeURIComponent(who)}`, { method: "PUT" });
      await context.reload(`${added.person} is a member of “${team.name}”.`, "member-person");
    } catch (error) {
      showError(form, status, error);
      submit.disabled = false;
    }
  });
  const rows = members.map((member) => {
    const remove = h("button", {
      type: "button", class: "danger", "data-action": "remove-member", "data-person": member.person,
      "aria-label": `Remove ${member.person} from the team`,
    }, "Remove");
    remove.addEventListener("click", async () => {
      const ok = await context.dialog.ask(`Remove ${member.person} from “${team.name}”?`,
        "Their tokens stop counting as the team's at once.", "Remove");
      if (!ok) { remove.focus(); return; }
      remove.disabled = true;
      try {
        await api(`/admin/v1/teams/${team.id}/members/${encodeURIComponent(member.person)}`, { method: "DELETE" });
        await context.reload(`${member.person} is no longer a member of “${team.name}”.`, "member-person");
      } catch (error) {
        remove.disabled = false;
        context.status.replaceChildren(notice(error.message));
      }
    });
    return h("tr", { "data-person": member.person },
      h("td", {}, member.person),
      h("td", { class: "hide-narrow" }, when(member.added_at)),
      h("td", {}, h("div", { class: "row actions" }, remove)));
  });
  return h("section", { id: "team-members", "aria-labelledby": "members-title" },
    h("h2", { id: "members-title" }, "Members"),
    form, status,
    rows.length === 0 ? h("p", { class: "muted" }, "No members yet.")
      : h("div", { class: "table-wrap" }, h("table", { id: "members" },
        h("caption", { class: "sr-only" }, `Members of ${team.name}`),
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Person"),
          h("th", { scope: "col", class: "hide-narrow" }, "Added"),
          h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
        h("tbody", {}, rows))));
}

function keysSection(keys) {
  const now = Date.now() / 1000;
  const state = (key) => {
    if (key.revoked_at) return h("span", { class: "tag" }, "revoked");
    if (key.expires_at && key.expires_at < now) return h("span", { class: "tag" }, "expired");
    return "active";
  };
  return h("section", { id: "team-keys", "aria-labelledby": "keys-title" },
    h("h2", { id: "keys-title" }, "Keys"),
    keys.length === 0
      ? h("p", { class: "muted" }, "No keys are issued for this team (a key's team_id names its team).")
      : h("div", { class: "table-wrap" }, h("table", { id: "team-keys-table" },
        h("caption", { class: "sr-only" }, "Keys issued for the team"),
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Name"), h("th", { scope: "col", class: "num" }, "Id"),
          h("th", { scope: "col", class: "hide-narrow" }, "Prefix"), h("th", { scope: "col" }, "Person"),
          h("th", { scope: "col" }, "State"))),
        h("tbody", {}, keys.map((key) => h("tr", { "data-id": key.id, class: key.revoked_at ? "revoked" : null },
          h("td", {}, key.name), h("td", { class: "num" }, key.id), h("td", { class: "hide-narrow" }, h("code", {}, key.prefix)),
          h("td", {}, key.person || h("span", { class: "muted" }, "—")), h("td", {}, state(key))))))),
    h("p", {}, h("a", { href: "/ui/admin/keys", "data-link": true }, "All keys")));
}

function budgetsSection(team, members, keys, list) {
  const title = h("h2", { id: "team-budgets-title" }, "Budgets");
  const add = h("p", {}, h("a", {
    href: `/ui/admin/budgets?scope=team:${team.id}`, "data-link": true, id: "add-team-budget",
  }, "Add a budget for this team"));
  const section = h("section", { id: "team-budgets", "aria-labelledby": "team-budgets-title" }, title);
  if (list === null) return append(section, notice("The budgets cannot be read."), add);
  const scopes = new Set([`team:${team.id}`, ...members.map((m) => `person:${m.person}`),
    ...keys.map((k) => `key:${k.id}`)]);
  const budgets = sortBudgets(list.data.filter((b) => scopes.has(scopeKey(b.scope))));
  const names = { teams: new Map([[String(team.id), team]]), keys: new Map(keys.map((k) => [String(k.id), k])) };
  if (budgets.length === 0) {
    return append(section, h("p", { class: "muted" }, "No budget applies to the team, its members or its keys."), add);
  }
  return append(section,
    h("p", { class: "muted" }, "The team's own budgets, and those of its members and its keys."),
    h("div", { class: "table-wrap" }, h("table", { id: "team-budgets-table" },
      h("caption", { class: "sr-only" }, `Budgets that apply to ${team.name}`),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Applies to"), h("th", { scope: "col" }, "Model"),
        h("th", { scope: "col" }, "Period"), h("th", { scope: "col", class: "num" }, "Limit"),
        h("th", { scope: "col" }, "Kind"), h("th", { scope: "col", class: "num" }, "Spent"),
        h("th", { scope: "col", class: "num" }, "Remaining"), h("th", { scope: "col" }, "Window (UTC)"))),
      h("tbody", {}, budgets.map((b) => h("tr", { "data-id": b.id, "data-scope": scopeKey(b.scope) },
        h("td", {}, scopeCell(b.scope, names)),
        h("td", {}, b.model ? h("code", {}, b.model) : h("span", { class: "muted" }, "all models")),
        h("td", {}, periodText(b)),
        h("td", { class: "num" }, usd(b.limit_usd)),
        h("td", {}, hardText(b)),
        h("td", { class: "num", "data-field": "spent" }, usd(b.spent_usd)),
        h("td", { class: "num", "data-field": "remaining" }, remainingText(b), h("br"),
          budgetMeter(b, `${scopeKey(b.scope)}, ${periodText(b)}: ${usd(b.spent_usd + b.reserved_usd)} of ${usd(b.limit_usd)} used`)),
        h("td", {}, windowText(b))))))),
    add);
}

// --- helpers ----------------------------------------------------------------------------

function append(element, ...children) {
  element.append(...children);
  return element;
}

function modelsCell(models) {
  if (models === null || models === undefined) return h("span", { class: "muted" }, "all");
  if (models.length === 0) return h("span", { class: "muted" }, "none");
  return h("span", { class: "tags" }, models.map((m) => h("code", { class: "tag" }, m)));
}

function splitList(text) {
  const items = text.split(",").map((item) => item.trim()).filter(Boolean);
  return items.length ? items : null;
}

function when(seconds) {
  const iso = new Date(seconds * 1000).toISOString();
  return h("time", { datetime: iso }, `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`);
}

/** An API error next to the field its ``param`` names (``models[0]`` is the models field). */
function showError(form, status, error) {
  const param = error instanceof ApiError && error.param ? String(error.param) : "";
  const name = param.split(/[.[]/)[0];
  const input = name ? form.elements.namedItem(name) : null;
  if (input instanceof HTMLElement) fieldError(input, error.message);
  else status.replaceChildren(notice(error.message));
}
