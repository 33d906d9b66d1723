// Admin: API keys. Issue one (its secret shown once, here, never stored), change its
// models, limits and expiry, revoke it. GET/POST /admin/v1/keys, PATCH /admin/v1/keys/{id},
// POST /admin/v1/keys/{id}/revoke.

import { api, ApiError } from "../../api.js";
import { clear, copyButton, field, h, notice } from "../../dom.js";
import { clearErrors, confirmDialog, fieldError } from "../../forms.js";

const DURATION = /^(\d{1,4}[smhdw]){1,9}$/i;
const UNIT = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

export async function render(main) {
  const status = h("div", { id: "keys-status", "aria-live": "polite" });
  const secretSlot = h("div", { id: "secret-slot" });
  const tableSlot = h("div", { id: "keys-table" }, h("p", { class: "muted" }, "Loading keys…"));
  const dialog = confirmDialog();
  main.append(
    h("h1", {}, "API keys"),
    createForm(secretSlot, () => load()),
    secretSlot,
    h("h2", {}, "Keys"),
    status,
    tableSlot,
    dialog.element,
  );

  async function load() {
    let keys;
    try {
      keys = (await api("/admin/v1/keys")).data;
    } catch (error) {
      clear(tableSlot, notice(error.message));
      return;
    }
    clear(tableSlot, keysTable(keys, { status, dialog, reload: load }));
  }
  await load();
}

// --- creating a key -------------------------------------------------------------------

function createForm(secretSlot, reload) {
  const inputs = {
    name: h("input", { name: "name", required: true, maxlength: 200, autocomplete: "off" }),
    models: h("input", {
      name: "models", autocomplete: "off", spellcheck: "false", placeholder: "openai/*, anthropic/claude-haiku-4.5",
    }),
    expires_in: h("input", { name: "expires_in", autocomplete: "off", placeholder: "30d" }),
    rpm_limit: h("input", { name: "rpm_limit", type: "number", min: 0, step: 1, inputmode: "numeric" }),
    tpm_limit: h("input", { name: "tpm_limit", type: "number", min: 0, step: 1, inputmode: "numeric" }),
    is_admin: h("input", { name: "is_admin", type: "checkbox" }),
  };
  const status = h("div", { class: "form-status", "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Create key");
  const form = h("form", { id: "create-key", class: "card", novalidate: true },
    h("h2", {}, "New key"),
    h("div", { class: "form-grid" },
      field("Name", inputs.name),
      field("Models", inputs.models, "Comma-separated ids or globs; empty: every model."),
      field("Expires in", inputs.expires_in, "e.g. 30d, 12h, 1w2d; empty: never."),
      field("Requests per minute", inputs.rpm_limit, "Empty: the default; 0: no limit."),
      field("Tokens per minute", inputs.tpm_limit, "Empty: the default; 0: no limit."),
    ),
    h("div", { class: "field check" },
      h("label", {}, inputs.is_admin, " Admin (may use the admin API and this console's admin pages)")),
    h("div", { class: "row" }, submit),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    status.replaceChildren();
    const name = inputs.name.value.trim();
    if (!name) {
      fieldError(inputs.name, "A key needs a name.");
      return;
    }
    const body = { name, is_admin: inputs.is_admin.checked };
    const models = splitList(inputs.models.value);
    if (models !== null) body.models = models;
    const lifetime = inputs.expires_in.value.trim();
    if (lifetime && (!DURATION.test(lifetime) || !/[1-9]/.test(lifetime))) {
      fieldError(inputs.expires_in,
        "Use a duration such as 30d, 12h or 1w2d (numbers with units s, m, h, d, w), or leave it empty.");
      return;
    }
    if (lifetime) body.expires_in = lifetime;
    for (const limit of ["rpm_limit", "tpm_limit"]) {
      const value = inputs[limit].value.trim();
      if (value !== "") body[limit] = Number(value);
    }
    submit.disabled = true;
    try {
      const issued = await api("/admin/v1/keys", { method: "POST", body });
      showSecret(secretSlot, issued);
      form.reset();
      await reload();
    } catch (error) {
      showError(form, status, error);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** The secret, once: only in this box (never stored); gone when the page changes or on "Done". */
function showSecret(slot, issued) {
  const copy = copyButton(issued.secret, "Copy");
  copy.id = "copy-secret";
  const done = h("button", { type: "button", class: "secondary" }, "Done");
  const box = h("section", { id: "new-secret", class: "card secret-box", "aria-labelledby": "new-secret-title" },
    h("h2", { id: "new-secret-title" }, `Key “${issued.name}” created`),
    h("p", {}, h("strong", {}, "Copy the secret now: it will not be shown again."),
      " Only its prefix is stored; if it is lost, revoke the key and create another."),
    h("div", { class: "row" }, h("code", { class: "secret" }, issued.secret), copy),
    h("div", { class: "row" }, done),
  );
  done.addEventListener("click", () => clear(slot));
  clear(slot, box);
  copy.focus();
}

// --- the list ---------------------------------------------------------------------------

function keysTable(keys, context) {
  if (keys.length === 0) return h("p", { class: "muted" }, "No keys yet.");
  const now = Date.now() / 1000;
  const rows = [];
  for (const key of keys) {
    const row = h("tr", { "data-id": key.id, class: key.revoked_at ? "revoked" : null },
      h("td", {}, key.name),
      h("td", { class: "num" }, key.id),
      h("td", {}, h("code", {}, key.prefix)),
      h("td", { class: "hide-narrow" }, when(key.created_at)),
      h("td", {}, key.expires_at ? when(key.expires_at) : "never",
        key.expires_at && key.expires_at < now && !key.revoked_at ? h("span", { class: "tag" }, "expired") : null),
      h("td", {}, key.revoked_at ? when(key.revoked_at) : "—"),
      h("td", {}, key.is_admin ? "yes" : "no"),
      h("td", { class: "num" }, limit(key.rpm_limit)),
      h("td", { class: "num" }, limit(key.tpm_limit)),
      h("td", {}, key.models === null ? h("span", { class: "muted" }, "all")
        : h("span", { class: "tags" }, key.models.map((m) => h("code", { class: "tag" }, m)))),
      h("td", {}, h("div", { class: "row actions" },
        h("button", {
          type: "button", class: "secondary", "data-action": "edit", "data-id": key.id,
          "aria-label": `Edit key ${key.name}`, "aria-expanded": "false",
        }, "Edit"),
        key.revoked_at ? null : h("button", {
          type: "button", class: "danger", "data-action": "revoke", "data-id": key.id,
          "aria-label": `Revoke key ${key.name}`,
        }, "Revoke"),
      )),
    );
    rows.push(row);
    const editButton = row.querySelector("button[data-action=edit]");
    editButton.addEventListener("click", () => toggleEditor(row, key, editButton, context));
    const revokeButton = row.querySelector("button[data-action=revoke]");
    if (revokeButton) {
      revokeButton.addEventListener("click", async () => {
        const ok = await context.dialog.ask(
          `Revoke key “${key.name}” (${key.prefix}…)?`,
          "Requests with it are refused within a second. This cannot be undone.",
          "Revoke",
        );
        if (!ok) { revokeButton.focus(); return; }
        revokeButton.disabled = true;
        try {
          await api(`/admin/v1/keys/${key.id}/revoke`, { method: "POST" });
          context.status.replaceChildren(notice(`Key “${key.name}” is revoked.`, "ok"));
          await context.reload();
        } catch (error) {
          revokeButton.disabled = false;
          context.status.replaceChildren(notice(error.message));
        }
      });
    }
  }
  return h("div", { class: "table-wrap" }, h("table", { id: "keys" },
    h("caption", { class: "sr-only" }, "API keys"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Name"), h("th", { scope: "col", class: "num" }, "Id"),
      h("th", { scope: "col" }, "Prefix"), h("th", { scope: "col", class: "hide-narrow" }, "Created"),
      h("th", { scope: "col" }, "Expires"), h("th", { scope: "col" }, "Revoked"),
      h("th", { scope: "col" }, "Admin"), h("th", { scope: "col", class: "num" }, "RPM"),
      h("th", { scope: "col", class: "num" }, "TPM"), h("th", { scope: "col" }, "Models"),
      h("th", { scope: "col" }, "Actions"),
    )),
    h("tbody", {}, rows),
  ));
}

function toggleEditor(row, key, button, context) {
  const next = row.nextElementSibling;
  if (next && next.classList.contains("editor")) {
    next.remove();
    button.setAttribute("aria-expanded", "false");
    return;
  }
  const inputs = {
    name: h("input", { name: "name", value: key.name, required: true, maxlength: 200 }),
    models: h("input", {
      name: "models", value: key.models ? key.models.join(", ") : "", spellcheck: "false",
    }),
    expires_at: h("input", {
      name: "expires_at", value: key.expires_at ? isoSeconds(key.expires_at) : "", autocomplete: "off",
      placeholder: "2027-01-01T00:00:00Z or 30d",
    }),
    rpm_limit: h("input", { name: "rpm_limit", type: "number", min: 0, step: 1, value: key.rpm_limit ?? "" }),
    tpm_limit: h("input", { name: "tpm_limit", type: "number", min: 0, step: 1, value: key.tpm_limit ?? "" }),
  };
  const status = h("div", { class: "form-status", "aria-live": "polite" });
  const save = h("button", { type: "submit" }, "Save");
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  const form = h("form", { id: `edit-key-${key.id}`, class: "edit-key", "data-id": key.id, novalidate: true },
    h("div", { class: "form-grid" },
      field("Name", inputs.name),
      field("Models", inputs.models, "Comma-separated ids or globs; empty: every model."),
      field("Expires at", inputs.expires_at, "UTC date-time, a date, or a duration from now (30d); empty: never."),
      field("Requests per minute", inputs.rpm_limit, "Empty: the default; 0: no limit."),
      field("Tokens per minute", inputs.tpm_limit, "Empty: the default; 0: no limit."),
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
    const name = inputs.name.value.trim();
    if (!name) { fieldError(inputs.name, "A key needs a name."); return; }
    if (name !== key.name) changes.name = name;
    const models = splitList(inputs.models.value);
    if (JSON.stringify(models) !== JSON.stringify(key.models)) changes.models = models;
    const expiry = inputs.expires_at.value.trim();
    const current = key.expires_at ? isoSeconds(key.expires_at) : "";
    if (expiry !== current) {
      changes.expires_at = expiry === "" ? null : expiryValue(expiry);
    }
    for (const limitName of ["rpm_limit", "tpm_limit"]) {
      const value = inputs[limitName].value.trim();
      const given = value === "" ? null : Number(value);
      if (given !== key[limitName]) changes[limitName] = given;
    }
    if (Object.keys(changes).length === 0) {
      status.replaceChildren(notice("Nothing changed.", "info"));
      return;
    }
    save.disabled = true;
    try {
      const changed = await api(`/admin/v1/keys/${key.id}`, { method: "PATCH", body: changes });
      context.status.replaceChildren(notice(`Key “${changed.name}” is saved.`, "ok"));
      await context.reload();
    } catch (error) {
      showError(form, status, error);
      save.disabled = false;
    }
  });
  const editor = h("tr", { class: "editor", "data-editor-for": key.id },
    h("td", { colspan: 11 }, form));
  row.after(editor);
  button.setAttribute("aria-expanded", "true");
  inputs.name.focus();
}

// --- helpers ----------------------------------------------------------------------------

function splitList(text) {
  const items = text.split(",").map((item) => item.trim()).filter(Boolean);
  return items.length ? items : null;
}

function expiryValue(text) {
  if (DURATION.test(text)) {
    let seconds = 0;
    for (const [, count, unit] of text.matchAll(/(\d+)([smhdw])/gi)) seconds += Number(count) * UNIT[unit.toLowerCase()];
    return Math.round(Date.now() / 1000) + seconds;
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return `${text}T00:00:00Z`;
  return text;
}

function isoSeconds(seconds) {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function when(seconds) {
  const iso = new Date(seconds * 1000).toISOString();
  return h("time", { datetime: iso }, `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`);
}

function limit(value) {
  if (value === null || value === undefined) return h("span", { class: "muted" }, "default");
  return value === 0 ? "no limit" : value.toLocaleString("en-US");
}

/** An API error next to the field its ``param`` names (``models[0]`` is the models field). */
function showError(form, status, error) {
  const param = error instanceof ApiError && error.param ? String(error.param) : "";
  const name = param.split(/[.[]/)[0];
  const input = name ? form.elements.namedItem(name) : null;
  if (input instanceof HTMLElement) fieldError(input, error.message);
  else status.replaceChildren(notice(error.message));
}
