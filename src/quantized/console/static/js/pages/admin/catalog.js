// Admin: the whole catalog (inactive models too). Edit a model's prices, status and
// features (RFC 7386 merge patch, PATCH /admin/v1/models/{id}); import a file in our format,
// OpenRouter's or LiteLLM's: first a preview (POST …/import?dry_run=true), then the import.

import { ApiError, api, session } from "../../api.js";
import { clear, copyButton, field, h, notice, price } from "../../dom.js";
import { clearErrors, fieldError } from "../../forms.js";

// quantized.catalog.model: STATUSES and FEATURES.
const STATUSES = ["active", "deprecated", "disabled"];
const FEATURES = ["tool_calls", "structured_output", "reasoning", "prompt_caching", "web_search"];
const PRICES = [
  ["prompt", "Prompt", true],
  ["completion", "Completion", true],
  ["input_cache_read", "Cache read", false],
  ["input_cache_write", "Cache write", false],
];
const SHOWN = 500;

export async function render(main, { query }) {
  const listSlot = h("div", { id: "catalog-list" }, h("p", { class: "muted" }, "Loading models…"));
  const state = { models: [], search: query.q || "", status: query.status || "" };
  main.append(
    h("h1", {}, "Catalog"),
    importSection(() => load()),
    h("h2", {}, "Models"),
    listSlot,
  );

  async function load() {
    try {
      state.models = (await api("/admin/v1/models")).data;
    } catch (error) {
      clear(listSlot, notice(error.message));
      return;
    }
    clear(listSlot, modelList(state));
  }
  await load();
}

// --- the list ---------------------------------------------------------------------------

function modelList(state) {
  const search = h("input", {
    type: "search", name: "q", value: state.search, autocomplete: "off", spellcheck: "false",
    placeholder: "id, name or author", "aria-controls": "catalog-models",
  });
  const status = h("select", { name: "status", "aria-controls": "catalog-models" },
    h("option", { value: "" }, "any"),
    STATUSES.map((s) => h("option", { value: s, selected: s === state.status }, s)));
  const count = h("p", { id: "catalog-count", class: "muted", "aria-live": "polite" });
  const saved = h("div", { id: "catalog-status", "aria-live": "polite" });
  const body = h("tbody");
  const table = h("div", { class: "table-wrap" }, h("table", { id: "catalog-models" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Model"),
      h("th", { scope: "col" }, "Status"),
      h("th", { scope: "col", class: "num" }, "Prompt"),
      h("th", { scope: "col", class: "num" }, "Completion"),
      h("th", { scope: "col", class: "num hide-narrow" }, "Cache read"),
      h("th", { scope: "col", class: "num hide-narrow" }, "Cache write"),
      h("th", { scope: "col", class: "hide-narrow" }, "Features"),
      h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")),
    )),
    body,
  ));

  const fill = () => {
    const words = state.search.toLowerCase().split(/\s+/).filter(Boolean);
    const found = state.models.filter((m) => {
      if (state.status && m.status !== state.status) return false;
      const text = `${m.id} ${m.name} ${(m.aliases || []).join(" ")}`.toLowerCase();
      return words.every((word) => text.includes(word));
    });
    const rows = [];
    for (const model of found.slice(0, SHOWN)) rows.push(modelRow(model, { saved, replace }));
    clear(body, rows);
    count.textContent = found.length > SHOWN
      ? `${found.length} of ${state.models.length} models match; the first ${SHOWN} are shown: narrow the search.`
      : `${found.length} of ${state.models.length} models.`;
  };
  const replace = (model) => {
    const index = state.models.findIndex((m) => m.id === model.id);
    if (index >= 0) state.models[index] = model;
  };
  const remember = () => {
    const params = new URLSearchParams();
    if (state.search) params.set("q", state.search);
    if (state.status) params.set("status", state.status);
    const url = `${location.pathname}${params.size ? `?${params}` : ""}`;
    history.replaceState(null, "", url);
  };
  search.addEventListener("input", () => { state.search = search.value.trim(); remember(); fill(); });
  status.addEventListener("change", () => { state.status = status.value; remember(); fill(); });
  fill();
  return h("div", {},
    h("div", { class: "filters", role: "search" }, field("Search", search), field("Status", status)),
    count, saved, table);
}

function modelRow(model, context) {
  const edit = h("button", {
    type: "button", class: "secondary", "data-action": "edit", "data-id": model.id,
    "aria-expanded": "false", "aria-label": `Edit ${model.id}`,
  }, "Edit");
  const row = h("tr", { "data-id": model.id, class: model.status !== "active" ? "inactive" : null },
    h("td", {}, h("div", { class: "model-name" }, model.name),
      h("div", { class: "row" }, h("code", {}, model.id), copyButton(model.id, "Copy id"))),
    h("td", {}, h("span", { class: `tag status-${model.status}` }, model.status)),
    h("td", { class: "num", "data-field": "prompt" }, price(model.cost.prompt)),
    h("td", { class: "num", "data-field": "completion" }, price(model.cost.completion)),
    h("td", { class: "num hide-narrow", "data-field": "input_cache_read" }, price(model.cost.input_cache_read)),
    h("td", { class: "num hide-narrow", "data-field": "input_cache_write" }, price(model.cost.input_cache_write)),
    h("td", { class: "hide-narrow" }, h("span", { class: "tags" },
      model.supported_features.map((f) => h("span", { class: "tag" }, f)))),
    h("td", {}, edit),
  );
  edit.addEventListener("click", () => {
    const next = row.nextElementSibling;
    if (next && next.classList.contains("editor")) {
      next.remove();
      edit.setAttribute("aria-expanded", "false");
      return;
    }
    row.after(editor(model, row, edit, context));
    edit.setAttribute("aria-expanded", "true");
  });
  return row;
}

/** The edit form of one model: ``form#edit-<id>``, inputs named as the API's fields. */
function editor(model, row, button, context) {
  const inputs = {};
  for (const [name, , required] of PRICES) {
    const value = model.cost[name];
    inputs[name] = h("input", {
      name, type: "number", min: 0, step: "any", inputmode: "decimal", required,
      value: value === null || value === undefined ? "" : value,
    });
  }
  inputs.status = h("select", { name: "status" },
    STATUSES.map((s) => h("option", { value: s, selected: s === model.status }, s)));
  const features = h("fieldset", { class: "features", "data-name": "supported_features" },
    h("legend", {}, "Features"),
    FEATURES.map((f) => h("label", {},
      h("input", {
        type: "checkbox", name: "supported_features", value: f,
        checked: model.supported_features.includes(f),
      }), ` ${f}`)));
  const status = h("div", { class: "form-status", "aria-live": "polite" });
  const save = h("button", { type: "submit" }, "Save");
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  const form = h("form", {
    id: `edit-${model.id}`, class: "edit-model", "data-id": model.id, novalidate: true,
    "aria-label": `Edit ${model.id}`,
  },
    h("div", { class: "form-grid" },
      PRICES.map(([name, label, required]) => field(`${label} ($ per 1M tokens)`, inputs[name],
        required ? null : (name === "input_cache_read" ? "Empty: the prompt price." : "Empty: none (writes cost the prompt price)."))),
      field("Status", inputs.status, "Only active models are listed and usable."),
    ),
    features,
    h("div", { class: "row" }, save, cancel),
    status,
  );
  const close = () => {
    wrapper.remove();
    button.setAttribute("aria-expanded", "false");
    button.focus();
  };
  cancel.addEventListener("click", close);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    status.replaceChildren();
    const patch = {};
    const cost = {};
    for (const [name, label, required] of PRICES) {
      const text = inputs[name].value.trim();
      if (text === "" && inputs[name].validity.badInput) {
        fieldError(inputs[name], `${label}: not a number.`);
        return;
      }
      if (text === "") {
        if (required) { fieldError(inputs[name], `${label} is required.`); return; }
        if (model.cost[name] !== null && model.cost[name] !== undefined) cost[name] = null;
        continue;
      }
      const value = Number(text);
      if (value !== model.cost[name]) cost[name] = value;
    }
    if (Object.keys(cost).length) patch.cost = cost;
    if (inputs.status.value !== model.status) patch.status = inputs.status.value;
    const chosen = [...form.querySelectorAll("input[name=supported_features]:checked")].map((i) => i.value);
    const before = new Set(model.supported_features);
    if (chosen.length !== before.size || chosen.some((f) => !before.has(f))) {
      patch.supported_features = chosen;
    }
    if (Object.keys(patch).length === 0) {
      status.replaceChildren(notice("Nothing changed.", "info"));
      return;
    }
    save.disabled = true;
    try {
      const changed = await api(`/admin/v1/models/${model.id}`, { method: "PATCH", body: patch });
      context.replace(changed);
      const fresh = modelRow(changed, context);
      row.replaceWith(fresh);
      wrapper.remove();
      context.saved.replaceChildren(notice(`${changed.id} is saved.`, "ok"));
      fresh.querySelector("button[data-action=edit]").focus();
    } catch (error) {
      save.disabled = false;
      showError(form, status, error);
    }
  });
  const wrapper = h("tr", { class: "editor", "data-editor-for": model.id }, h("td", { colspan: 8 }, form));
  queueMicrotask(() => inputs.prompt.focus());
  return wrapper;
}

// --- import -----------------------------------------------------------------------------

function importSection(reload) {
  const file = h("input", {
    type: "file", name: "file", id: "import-file", accept: ".json,.yaml,.yml,application/json,application/yaml",
    required: true,
  });
  const format = h("select", { name: "format", id: "import-format" },
    h("option", { value: "quantized" }, "Quantized (YAML or JSON)"),
    h("option", { value: "openrouter" }, "OpenRouter (/api/v1/models)"),
    h("option", { value: "litellm" }, "LiteLLM (model prices JSON)"));
  const previewButton = h("button", { type: "submit", id: "preview-import" }, "Preview");
  const progress = h("div", { id: "import-progress", "aria-live": "polite" });
  const result = h("div", { id: "import-preview" });
  const form = h("form", { id: "import-form", class: "card", novalidate: true },
    h("h2", {}, "Import a catalog file"),
    h("p", { class: "muted" },
      "Nothing changes until you confirm: the preview shows what would be added and changed."),
    h("div", { class: "filters" }, field("File", file), field("Format", format), previewButton),
    progress,
    result,
  );
  const forget = () => { clear(result); clear(progress); };
  file.addEventListener("change", forget);
  format.addEventListener("change", forget);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    forget();
    const chosen = file.files && file.files[0];
    if (!chosen) {
      clear(result, notice("Choose a file first."));
      file.focus();
      return;
    }
    const upload = {
      text: await chosen.text(),
      type: /\.ya?ml$/i.test(chosen.name) ? "application/yaml" : "application/json",
      format: format.value,
      name: chosen.name,
    };
    previewButton.disabled = true;
    clear(progress, busy("Checking the file…"));
    try {
      const preview = await postFile(upload, true);
      clear(progress);
      clear(result, previewView(preview, upload, { progress, result, reload }));
    } catch (error) {
      clear(progress);
      clear(result, notice(errorText(error)));
    } finally {
      previewButton.disabled = false;
    }
  });
  return form;
}

function previewView(preview, upload, { progress, result, reload }) {
  const total = preview.added.length + preview.changed.length;
  const run = h("button", { type: "button", id: "run-import", disabled: total === 0 && preview.unchanged.length === 0 },
    `Import ${upload.name}`);
  run.addEventListener("click", async () => {
    run.disabled = true;
    clear(progress, busy(`Importing ${upload.name}…`));
    try {
      const done = await postFile(upload, false);
      clear(progress);
      const said = notice(
        `Imported: ${done.inserted} added, ${done.updated} updated.`
        + (done.skipped.length ? ` ${done.skipped.length} entries skipped.` : ""), "ok");
      said.id = "import-done";
      clear(result, said);
      await reload();
    } catch (error) {
      clear(progress);
      result.append(notice(errorText(error)));
      run.disabled = false;
    }
  });
  const counts = h("p", { id: "preview-counts", class: "counts" },
    h("strong", { "data-count": "added" }, `${preview.added.length} added`), " · ",
    h("strong", { "data-count": "changed" }, `${preview.changed.length} changed`), " · ",
    h("span", { "data-count": "unchanged" }, `${preview.unchanged.length} unchanged`),
    preview.skipped.length ? [" · ", h("span", { "data-count": "skipped" }, `${preview.skipped.length} skipped`)] : null,
  );
  const changedRows = [];
  for (const change of preview.changed) {
    const fields = Object.entries(change.fields);
    fields.forEach(([name, diff], index) => {
      changedRows.push(h("tr", { "data-model": change.id, "data-diff": name },
        index === 0 ? h("th", { scope: "rowgroup", rowspan: fields.length }, h("code", {}, change.id)) : null,
        h("td", {}, h("code", {}, name)),
        h("td", { class: "diff" }, h("del", {}, shown(diff.old)), " → ", h("ins", {}, shown(diff.new))),
      ));
    });
  }
  return h("section", { class: "preview", "aria-labelledby": "preview-title" },
    h("h3", { id: "preview-title" }, `What importing ${upload.name} would do`),
    counts,
    total === 0 ? notice("Nothing would change: every model in the file is already as stored.", "info") : null,
    preview.added.length ? h("details", { open: preview.added.length <= 50, id: "preview-added" },
      h("summary", {}, `Added (${preview.added.length})`),
      h("ul", { class: "ids" }, preview.added.map((id) => h("li", { "data-model": id }, h("code", {}, id))))) : null,
    preview.changed.length ? h("details", { open: true, id: "preview-changed" },
      h("summary", {}, `Changed (${preview.changed.length})`),
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Model"), h("th", { scope: "col" }, "Field"),
          h("th", { scope: "col" }, "Old → new"))),
        h("tbody", {}, changedRows)))) : null,
    preview.unchanged.length ? h("details", { id: "preview-unchanged" },
      h("summary", {}, `Unchanged (${preview.unchanged.length})`),
      h("ul", { class: "ids" }, preview.unchanged.map((id) => h("li", { "data-model": id }, h("code", {}, id))))) : null,
    preview.skipped.length || preview.aliases_skipped.length ? h("details", { id: "preview-skipped" },
      h("summary", {}, `Left out (${preview.skipped.length + preview.aliases_skipped.length})`),
      h("ul", {}, [...preview.skipped, ...preview.aliases_skipped].map((s) =>
        h("li", {}, h("code", {}, s.name), `: ${s.reason}`)))) : null,
    h("div", { class: "row" }, run),
  );
}

function shown(value) {
  if (value === null || value === undefined) return "none";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function busy(text) {
  return h("div", { class: "busy", role: "status" }, h("progress", { "aria-label": text }), h("span", {}, text));
}

/** The file as it is, in its own media type (api() sends JSON only); errors as ApiError. */
async function postFile(upload, dryRun) {
  const url = new URL("/admin/v1/models/import", location.origin);
  url.searchParams.set("format", upload.format);
  if (dryRun) url.searchParams.set("dry_run", "true");
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: {
        Accept: "application/json", "Content-Type": upload.type, Authorization: `Bearer ${session.token()}`,
      },
      body: upload.text, credentials: "omit", cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "The gateway cannot be reached.");
  }
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.message || `The gateway answered ${response.status}.`,
      error.param, error.code);
  }
  return data;
}

function errorText(error) {
  if (error instanceof ApiError && error.param && !error.message.includes(error.param)) {
    return `${error.message} (at ${error.param})`;
  }
  return error.message;
}

// --- field errors -----------------------------------------------------------------------

/** The API's error next to the field its ``param`` names (``cost.prompt`` is the prompt input). */
function showError(form, status, error) {
  const param = error instanceof ApiError && error.param ? String(error.param) : "";
  const parts = param.split(/[.[]/);
  const name = parts[0] === "cost" ? parts[1] : parts[0];
  const target = name === "supported_features"
    ? form.querySelector("fieldset.features input")
    : name ? form.querySelector(`[name="${CSS.escape(name)}"]`) : null;
  if (target) fieldError(target, error.message);
  else status.replaceChildren(notice(error.message));
}
