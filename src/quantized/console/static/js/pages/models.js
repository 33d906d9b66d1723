// The models page: what the signed-in caller may use, from one GET /v1/models, searched,
// filtered and sorted in the page. The filters have the API's names and meaning
// (author, input_modality, output_modality, endpoint: any of; supported_features: all of)
// and live in the URL with the search (q), the price bounds (max_prompt, max_completion)
// and the order (sort=prompt, sort=-prompt, …), so a view can be shared.

import { api } from "../api.js";
import { clear, copyButton, field, h, notice } from "../dom.js";

const MODALITIES = ["text", "image", "audio", "video"];
const FEATURES = ["tool_calls", "structured_output", "reasoning", "prompt_caching", "web_search"];
const ENDPOINTS = ["chat", "messages", "responses", "embeddings"];
const GENERATIVE = ["chat", "messages", "responses"];
const LISTS = {
  input_modality: MODALITIES,
  output_modality: MODALITIES,
  supported_features: FEATURES,
  endpoint: ENDPOINTS,
};
const LEGENDS = {
  input_modality: "Input modality (any of)",
  output_modality: "Output modality (any of)",
  supported_features: "Features (all of)",
  endpoint: "Endpoint (any of)",
};
const AUTHOR = /^[a-z0-9][a-z0-9._-]*$/;
const PAGE = 100; // rows drawn at once: the layout of 100 table rows fits a frame on a slow machine
const SORTS = {
  name: (r) => r.nameKey,
  prompt: (r) => r.prompt,
  completion: (r) => r.completion,
  input_cache_read: (r) => r.cache,
  context_length: (r) => r.context,
};

/** The filters, search, bounds and order a query string names (problems in `warnings`). */
export function readState(search) {
  const params = new URLSearchParams(search);
  const warnings = [];
  const list = (name, allowed) => {
    const values = [];
    for (const raw of params.getAll(name)) {
      for (const value of raw.split(",").map((v) => v.trim()).filter(Boolean)) {
        if (allowed ? !allowed.includes(value) : !AUTHOR.test(value)) {
          warnings.push(allowed
            ? `Unknown ${name} "${value}" ignored: use one of ${allowed.join(", ")}.`
            : `Invalid author "${value}" ignored.`);
        } else if (!values.includes(value)) {
          values.push(value);
        }
      }
    }
    return values;
  };
  const bound = (name) => {
    const raw = (params.get(name) || "").trim();
    if (raw === "") return "";
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) {
      warnings.push(`${name} must be a number of dollars, 0 or more: "${raw}" ignored.`);
      return "";
    }
    return raw;
  };
  let sort = params.get("sort") || "";
  if (sort && !SORTS[sort.replace(/^-/, "")]) {
    warnings.push(`Unknown sort "${sort}" ignored: use one of ${Object.keys(SORTS).join(", ")} (with - for descending).`);
    sort = "";
  }
  const state = { q: params.get("q") || "", author: list("author", null), sort, warnings };
  for (const [name, allowed] of Object.entries(LISTS)) state[name] = list(name, allowed);
  state.max_prompt = bound("max_prompt");
  state.max_completion = bound("max_completion");
  return state;
}

/** The query string of a state, commas kept readable: ``?author=openai&supported_features=a,b``. */
export function queryOf(state) {
  const parts = [];
  const add = (name, values) => {
    if (values.length) parts.push(`${name}=${values.map(encodeURIComponent).join(",")}`);
  };
  if (state.q.trim()) add("q", [state.q]);
  add("author", state.author);
  for (const name of Object.keys(LISTS)) add(name, state[name]);
  if (state.max_prompt !== "") add("max_prompt", [state.max_prompt]);
  if (state.max_completion !== "") add("max_completion", [state.max_completion]);
  if (state.sort) add("sort", [state.sort]);
  return parts.length ? `?${parts.join("&")}` : "";
}

const PRICE = new Intl.NumberFormat("en-US", { maximumFractionDigits: 6 });
const COUNT = new Intl.NumberFormat("en-US");

/** As dom.js price(), with one shared formatter (rows are many). */
function money(value) {
  return value === null ? "—" : `$${PRICE.format(value)}`;
}

function number(value) {
  return value === null || value === undefined || value === "" ? null : Number(value);
}

function trueKeys(value, fallback) {
  if (Array.isArray(value)) return value;
  if (value && typeof value === "object") return MODALITIES.filter((m) => value[m]);
  return fallback;
}

/** What filtering and sorting need of a model, computed once. */
function prepare(model, index) {
  const cost = model.cost || {};
  const slash = model.id.indexOf("/");
  return {
    model,
    index,
    author: slash < 0 ? model.id : model.id.slice(0, slash),
    input: trueKeys(model.input_modality ?? model.input_modalities, ["text"]),
    output: trueKeys(model.output_modality ?? model.output_modalities, ["text"]),
    features: model.supported_features || [],
    endpoints: model.endpoints || GENERATIVE,
    prompt: number(cost.prompt),
    completion: number(cost.completion),
    cache: number(cost.input_cache_read),
    context: number(model.context_length),
    nameKey: String(model.name || model.id).toLowerCase(),
    text: `${model.name || ""}\n${model.id}\n${model.description || ""}`.toLowerCase(),
  };
}

/** A predicate for the state's search and filters. */
function matcher(state) {
  const words = state.q.toLowerCase().split(/\s+/).filter(Boolean);
  const authors = new Set(state.author);
  const any = (wanted, have) => wanted.length === 0 || wanted.some((v) => have.includes(v));
  const maxPrompt = state.max_prompt === "" ? null : Number(state.max_prompt);
  const maxCompletion = state.max_completion === "" ? null : Number(state.max_completion);
  const features = state.supported_features;
  return (r) => (authors.size === 0 || authors.has(r.author))
    && any(state.input_modality, r.input)
    && any(state.output_modality, r.output)
    && any(state.endpoint, r.endpoints)
    && features.every((f) => r.features.includes(f))
    && (maxPrompt === null || (r.prompt !== null && r.prompt <= maxPrompt))
    && (maxCompletion === null || (r.completion !== null && r.completion <= maxCompletion))
    && words.every((w) => r.text.includes(w));
}

function sorted(rows, sort) {
  if (!sort) return rows;
  const descending = sort.startsWith("-");
  const key = SORTS[sort.replace(/^-/, "")];
  const sign = descending ? -1 : 1;
  return rows.slice().sort((a, b) => {
    const x = key(a);
    const y = key(b);
    if (x === y) return a.index - b.index;
    if (x === null) return 1; // unknown values last, either way
    if (y === null) return -1;
    return (x < y ? -1 : 1) * sign;
  });
}

export function modelHref(id) {
  return `/ui/models/${id.split("/").map(encodeURIComponent).join("/")}`;
}

function tags(values) {
  return h("span", { class: "tags" }, values.map((v) => h("span", { class: "tag" }, v)));
}

export async function render(main, { user }) {
  const root = h("div", { class: "models-page" });
  main.append(root);
  root.append(h("h1", {}, "Models"));
  const status = h("div", { "aria-live": "polite" }, h("p", { class: "muted" }, "Loading the models…"));
  root.append(status);
  let models;
  try {
    models = await api("/v1/models");
  } catch (error) {
    if (root.isConnected) clear(status, notice(`The models cannot be listed: ${error.message}`));
    return;
  }
  if (!root.isConnected) return;
  if (!Array.isArray(models)) {
    clear(status, notice("The gateway's model listing is not a list: the console cannot show it."));
    return;
  }
  clear(status);
  const rows = models.map(prepare);
  const state = readState(location.search);
  const path = "/ui/models";

  // --- filters --------------------------------------------------------------------------
  const search = h("input", {
    type: "search", id: "search", name: "q", value: state.q, autocomplete: "off",
    spellcheck: "false", placeholder: "Name, id or description",
  });
  const authors = new Map();
  for (const r of rows) authors.set(r.author, (authors.get(r.author) || 0) + 1);
  const author = h("select", { id: "author", name: "author" },
    h("option", { value: "" }, "Any author"),
    [...authors.keys()].sort().map((a) => h("option", { value: a }, `${a} (${authors.get(a)})`)));
  if (state.author.length > 1 || (state.author.length === 1 && !authors.has(state.author[0]))) {
    // A shared URL may name several authors (any of), or one with no models here.
    const value = state.author.join(",");
    author.append(h("option", { value }, state.author.join(", ")));
  }
  author.value = state.author.join(",");
  const boxes = {};
  const fieldsets = Object.entries(LISTS).map(([name, allowed]) => {
    boxes[name] = allowed.map((value) => h("input", {
      type: "checkbox", name, value, id: `${name}-${value}`, checked: state[name].includes(value),
    }));
    return h("fieldset", { id: `${name}-filter` }, h("legend", {}, LEGENDS[name]),
      boxes[name].map((box) => h("label", { for: box.id }, box, ` ${box.value}`)));
  });
  const bound = (name) => h("input", {
    type: "number", id: name, name, min: "0", step: "any", inputmode: "decimal",
    value: state[name], placeholder: "any",
  });
  const maxPrompt = bound("max_prompt");
  const maxCompletion = bound("max_completion");
  const reset = h("button", { type: "button", id: "clear-filters", class: "secondary" }, "Clear filters");
  const warnings = h("div", { id: "filter-warnings" },
    state.warnings.map((text) => notice(text, "error")));
  // On a phone the checkboxes fold away (open when one is set, or on a wider screen).
  const anyChecked = Object.keys(LISTS).some((name) => state[name].length > 0);
  const moreFilters = h("details", {
    class: "more-filters", open: anyChecked || window.matchMedia("(min-width: 641px)").matches,
  }, h("summary", {}, "Modalities, features and endpoints"), h("div", { class: "filters" }, fieldsets));
  const filters = h("form", { class: "models-filters", role: "search", "aria-label": "Filter models" },
    h("div", { class: "filters" },
      h("div", { class: "field search-field" }, h("label", { for: "search" }, "Search"), search),
      field("Author", author),
      field("Max prompt $/M", maxPrompt),
      field("Max completion $/M", maxCompletion),
      h("div", { class: "field" }, reset)),
    moreFilters);
  filters.addEventListener("submit", (event) => event.preventDefault());
  root.append(filters, warnings);

  // --- table ----------------------------------------------------------------------------
  const count = h("span", { id: "count", role: "status" });
  const unit = h("span", { class: "muted" }, " · prices in USD per million tokens");
  const table = h("table", { id: "models" });
  const wrap = h("div", { class: "table-wrap" }, table);
  const more = h("button", { type: "button", id: "show-more", class: "secondary" }, "Show more");
  const moreRow = h("div", { class: "row more-row" }, more);
  root.append(h("p", { class: "count" }, count, unit), wrap, moreRow);

  let showContext = rows.some((r) => r.context !== null);
  let matching = [];
  const orders = new Map(); // sort -> every row in that order, computed once per sort
  let shown = 0;
  const tbody = h("tbody");

  const sortButtons = new Map(); // key -> {th, mark}
  const sortHeader = (key, label, cls) => {
    const mark = h("span", { class: "sort-mark", "aria-hidden": "true" });
    const button = h("button", {
      type: "button", class: "sort", "data-sort": key, title: `Sort by ${label.toLowerCase()}`,
    }, label, mark);
    button.addEventListener("click", () => {
      // Cheapest (or A to Z) first, then the other way, then the listing's order again.
      const current = state.sort.replace(/^-/, "") === key;
      state.sort = !current ? key : state.sort.startsWith("-") ? "" : `-${key}`;
      update();
    });
    const th = h("th", { scope: "col", class: cls }, button);
    sortButtons.set(key, { th, mark });
    return th;
  };

  const markSort = () => {
    const descending = state.sort.startsWith("-");
    const key = state.sort.replace(/^-/, "");
    for (const [name, { th, mark }] of sortButtons) {
      if (name === key) th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
      mark.textContent = name !== key ? " ↕" : descending ? " ▼" : " ▲";
    }
  };

  const header = () => {
    sortButtons.clear();
    return h("thead", {}, h("tr", {},
      sortHeader("name", "Name", "col-name"),
      h("th", { scope: "col", class: "col-id" }, "Id"),
      h("th", { scope: "col", class: "col-author hide-narrow" }, "Author"),
      h("th", { scope: "col", class: "col-modality hide-narrow" }, "Input"),
      h("th", { scope: "col", class: "col-modality hide-narrow" }, "Output"),
      h("th", { scope: "col", class: "col-features hide-narrow" }, "Features"),
      showContext ? sortHeader("context_length", "Context", "col-context num hide-narrow") : null,
      sortHeader("prompt", "Prompt", "col-price num"),
      sortHeader("completion", "Completion", "col-price num"),
      sortHeader("input_cache_read", "Cache read", "col-price num hide-narrow"),
      h("th", { scope: "col", class: "col-status hide-narrow" }, "Status")));
  };

  const build = () => clear(table,
    h("caption", { class: "sr-only" }, "Models you may use (prices in USD per million tokens)"),
    header(), tbody);

  const rowOf = (r) => {
    const m = r.model;
    const copy = copyButton(m.id);
    copy.setAttribute("aria-label", `Copy the id ${m.id}`);
    return h("tr", { "data-id": m.id },
      h("td", { class: "model-name" }, h("a", { href: modelHref(m.id), "data-link": true }, m.name || m.id)),
      h("td", { class: "model-id" }, h("span", { class: "id-cell" }, h("code", {}, m.id), copy)),
      h("td", { class: "hide-narrow" }, r.author),
      h("td", { class: "hide-narrow" }, tags(r.input)),
      h("td", { class: "hide-narrow" }, tags(r.output)),
      h("td", { class: "hide-narrow" }, tags(r.features)),
      showContext ? h("td", { class: "num hide-narrow" }, r.context === null ? "—" : COUNT.format(r.context)) : null,
      h("td", { class: "num" }, money(r.prompt)),
      h("td", { class: "num" }, money(r.completion)),
      h("td", { class: "num hide-narrow" }, money(r.cache)),
      h("td", { class: "hide-narrow" }, m.status || "active"));
  };

  const columns = () => 9 + (showContext ? 1 : 0);

  const showRows = (upTo) => {
    const fragment = document.createDocumentFragment();
    for (let i = shown; i < Math.min(upTo, matching.length); i += 1) {
      const r = matching[i];
      if (!r.tr) r.tr = rowOf(r); // each row is built once, when first shown
      fragment.append(r.tr);
    }
    tbody.append(fragment);
    shown = Math.min(upTo, matching.length);
    count.textContent = shown < matching.length
      ? `${matching.length.toLocaleString("en-US")} of ${rows.length.toLocaleString("en-US")} models (showing the first ${shown.toLocaleString("en-US")})`
      : `${matching.length.toLocaleString("en-US")} of ${rows.length.toLocaleString("en-US")} models`;
    unit.hidden = matching.length === 0;
    moreRow.hidden = shown >= matching.length;
    more.textContent = `Show ${Math.min(PAGE, matching.length - shown).toLocaleString("en-US")} more`;
  };

  function update({ writeUrl = true } = {}) {
    if (writeUrl) saveUrl(); // before the rows change: replaceState after them costs more
    if (!orders.has(state.sort)) orders.set(state.sort, sorted(rows, state.sort));
    matching = orders.get(state.sort).filter(matcher(state));
    shown = 0;
    tbody.replaceChildren();
    if (matching.length === 0) {
      tbody.append(h("tr", { class: "empty" }, h("td", { colspan: columns() },
        rows.length === 0 ? "Your key may not use any model." : "No model matches this search and these filters.")));
    }
    markSort();
    showRows(PAGE);
  }

  // The view's URL follows every change at once (a link to it shows the same rows).
  function saveUrl() {
    if (!root.isConnected || !/^\/ui(\/models)?\/?$/.test(location.pathname)) return; // gone
    const url = path + queryOf(state);
    if (url !== location.pathname + location.search) history.replaceState(null, "", url);
  }

  const readInputs = () => {
    state.q = search.value;
    state.author = author.value ? author.value.split(",") : [];
    for (const name of Object.keys(LISTS)) state[name] = boxes[name].filter((b) => b.checked).map((b) => b.value);
    for (const [name, input] of [["max_prompt", maxPrompt], ["max_completion", maxCompletion]]) {
      const value = input.value.trim();
      state[name] = value !== "" && Number.isFinite(Number(value)) && Number(value) >= 0 ? value : "";
    }
    update();
  };
  filters.addEventListener("input", readInputs);
  more.addEventListener("click", () => {
    const first = shown;
    showRows(shown + PAGE);
    tbody.rows[first]?.querySelector("a")?.focus();
  });
  reset.addEventListener("click", () => {
    search.value = "";
    author.value = "";
    for (const list of Object.values(boxes)) for (const box of list) box.checked = false;
    maxPrompt.value = "";
    maxCompletion.value = "";
    state.sort = "";
    warnings.replaceChildren();
    readInputs();
    search.focus();
  });

  build();
  update();
}
