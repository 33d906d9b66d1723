// A model's page: its details from GET /v1/models/<id> (for admins also the stored entry:
// context length, aliases, price source), and ready-to-paste examples with its id.

import { api } from "../api.js";
import { clear, copyButton, h, notice, price } from "../dom.js";

const MODALITIES = ["text", "image", "audio", "video"];
const GENERATIVE = ["chat", "messages", "responses"];

function idPath(id) {
  return id.split("/").map(encodeURIComponent).join("/");
}

function list(value) {
  if (Array.isArray(value)) return value;
  if (value && typeof value === "object") return MODALITIES.filter((m) => value[m]);
  return [];
}

function tags(values, empty = "none") {
  if (!values.length) return h("span", { class: "muted" }, empty);
  return h("span", { class: "tags" }, values.map((v) => h("span", { class: "tag" }, v)));
}

function safeUrl(text) {
  try {
    const url = new URL(text);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

function day(seconds) {
  return seconds ? new Date(seconds * 1000).toISOString().slice(0, 10) : null;
}

/** The examples for what the model serves: [{key, title, language, code}]. */
export function examples(model, base) {
  const id = JSON.stringify(model.id);
  const endpoints = model.endpoints && model.endpoints.length ? model.endpoints : GENERATIVE;
  const key = 'key = os.environ["QUANTIZED_API_KEY"]';
  if (!endpoints.includes("chat") && endpoints.includes("embeddings")) {
    return [
      { key: "curl", title: "cURL", code: `curl ${base}/v1/embeddings \\
  -H "Authorization: Bearer $QUANTIZED_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '${JSON.stringify({ model: model.id, input: "Hello!" })}'` },
      { key: "httpx", title: "Python with httpx", code: `import os

import httpx

${key}
response = httpx.post(
    "${base}/v1/embeddings",
    headers={"Authorization": f"Bearer {key}"},
    json={"model": ${id}, "input": "Hello!"},
    timeout=60,
)
response.raise_for_status()
print(len(response.json()["data"][0]["embedding"]))` },
      { key: "openai", title: "OpenAI Python SDK", code: `import os

from openai import OpenAI

client = OpenAI(api_key=os.environ["QUANTIZED_API_KEY"], base_url="${base}/v1")
result = client.embeddings.create(model=${id}, input="Hello!")
print(len(result.data[0].embedding))` },
    ];
  }
  if (!endpoints.includes("chat") && endpoints.includes("responses")) {
    return [
      { key: "curl", title: "cURL", code: `curl ${base}/v1/responses \\
  -H "Authorization: Bearer $QUANTIZED_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '${JSON.stringify({ model: model.id, input: "Hello!" })}'` },
      { key: "httpx", title: "Python with httpx", code: `import os

import httpx

${key}
response = httpx.post(
    "${base}/v1/responses",
    headers={"Authorization": f"Bearer {key}"},
    json={"model": ${id}, "input": "Hello!"},
    timeout=120,
)
response.raise_for_status()
print(response.json()["output"])` },
      { key: "openai", title: "OpenAI Python SDK", code: `import os

from openai import OpenAI

client = OpenAI(api_key=os.environ["QUANTIZED_API_KEY"], base_url="${base}/v1")
response = client.responses.create(model=${id}, input="Hello!")
print(response.output_text)` },
    ];
  }
  if (!endpoints.includes("chat") && endpoints.includes("messages")) {
    return [
      { key: "curl", title: "cURL", code: `curl ${base}/v1/messages \\
  -H "Authorization: Bearer $QUANTIZED_API_KEY" \\
  -H "Content-Type: application/json" -H "anthropic-version: 2023-06-01" \\
  -d '${JSON.stringify({ model: model.id, max_tokens: 1024, messages: [{ role: "user", content: "Hello!" }] })}'` },
      { key: "httpx", title: "Python with httpx", code: `import os

import httpx

${key}
response = httpx.post(
    "${base}/v1/messages",
    headers={"Authorization": f"Bearer {key}", "anthropic-version": "2023-06-01"},
    json={
        "model": ${id},
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "Hello!"}],
    },
    timeout=120,
)
response.raise_for_status()
print(response.json()["content"][0]["text"])` },
      { key: "anthropic", title: "Anthropic Python SDK", code: `import os

from anthropic import Anthropic

client = Anthropic(api_key=os.environ["QUANTIZED_API_KEY"], base_url="${base}")
message = client.messages.create(
    model=${id},
    max_tokens=1024,
    messages=[{"role": "user", "content": "Hello!"}],
)
print(message.content[0].text)` },
    ];
  }
  return [
    { key: "curl", title: "cURL", code: `curl ${base}/v1/chat/completions \\
  -H "Authorization: Bearer $QUANTIZED_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '${JSON.stringify({ model: model.id, messages: [{ role: "user", content: "Hello!" }] })}'` },
    { key: "httpx", title: "Python with httpx", code: `import os

import httpx

${key}
response = httpx.post(
    "${base}/v1/chat/completions",
    headers={"Authorization": f"Bearer {key}"},
    json={"model": ${id}, "messages": [{"role": "user", "content": "Hello!"}]},
    timeout=120,
)
response.raise_for_status()
print(response.json()["choices"][0]["message"]["content"])` },
    { key: "openai", title: "OpenAI Python SDK", code: `import os

from openai import OpenAI

client = OpenAI(api_key=os.environ["QUANTIZED_API_KEY"], base_url="${base}/v1")
reply = client.chat.completions.create(
    model=${id},
    messages=[{"role": "user", "content": "Hello!"}],
)
print(reply.choices[0].message.content)` },
  ];
}

export async function render(main, { params, user }) {
  const wanted = params.id;
  const root = h("div", { class: "model-page" });
  main.append(root);
  const back = h("p", { class: "back" }, h("a", { href: "/ui/models", "data-link": true }, "← All models"));
  const status = h("div", { "aria-live": "polite" }, h("p", { class: "muted" }, "Loading the model…"));
  root.append(back, h("h1", { id: "model-title" }, wanted), status);
  let model;
  try {
    model = await api(`/v1/models/${idPath(wanted)}`);
  } catch (error) {
    if (!root.isConnected) return;
    let text = `This model cannot be shown: ${error.message}`;
    if (error.status === 404) {
      text = `There is no model "${wanted}" here, or your key may not use it.`;
    } else if (error.status === 410) {
      text = `The model "${wanted}" is deprecated and no longer served: choose another one in the list of models.`;
    }
    clear(status, notice(text));
    return;
  }
  let stored = null;
  if (user && user.admin) {
    try {
      stored = await api(`/admin/v1/models/${idPath(model.id)}`);
    } catch {
      stored = null; // only additions: the page is whole without them
    }
  }
  if (!root.isConnected) return;
  clear(status);
  root.querySelector("#model-title").textContent = model.name || model.id;

  const cost = model.cost || {};
  const endpoints = model.endpoints && model.endpoints.length ? model.endpoints : GENERATIVE;
  const context = model.context_length ?? stored?.context_length ?? null;
  const source = model.price_source ?? stored?.price_source ?? null;
  const cacheWrite = cost.input_cache_write ?? stored?.cost?.input_cache_write ?? null;
  const created = model.created || stored?.created || null;
  const aliases = stored?.aliases || model.aliases || [];
  const copy = copyButton(model.id, "Copy id");
  copy.id = "copy-id";
  copy.setAttribute("aria-label", `Copy id ${model.id}`);
  const slash = model.id.indexOf("/");
  const author = model.model_author || (slash < 0 ? model.id : model.id.slice(0, slash));
  const row = (term, ...value) => [h("dt", {}, term), h("dd", {}, ...value)];

  const details = h("dl", { class: "details", id: "model-details" },
    row("Id", h("span", { class: "id-cell" }, h("code", { id: "model-id" }, model.id), copy)),
    row("Author", author),
    row("Status", h("span", { id: "model-status" }, model.status || "active")),
    model.description ? row("Description", model.description) : null,
    row("Input", tags(list(model.input_modality ?? model.input_modalities))),
    row("Output", tags(list(model.output_modality ?? model.output_modalities))),
    row("Features", tags(model.supported_features || [])),
    row("Endpoints", tags(endpoints)),
    row("Context length", context === null
      ? h("span", { class: "muted" }, "not in the listing")
      : `${Number(context).toLocaleString("en-US")} tokens`),
    aliases.length ? row("Aliases", tags(aliases)) : null,
    created ? row("Created", day(created)) : null,
  );

  const prices = h("table", { id: "model-prices", class: "prices" },
    h("caption", {}, "Prices in USD per million tokens"),
    h("tbody", {},
      h("tr", {}, h("th", { scope: "row" }, "Prompt (input)"), h("td", { class: "num", "data-price": "prompt" }, price(cost.prompt))),
      h("tr", {}, h("th", { scope: "row" }, "Completion (output)"), h("td", { class: "num", "data-price": "completion" }, price(cost.completion))),
      h("tr", {}, h("th", { scope: "row" }, "Cache read"), h("td", { class: "num", "data-price": "input_cache_read" }, price(cost.input_cache_read))),
      cacheWrite !== null
        ? h("tr", {}, h("th", { scope: "row" }, "Cache write"), h("td", { class: "num", "data-price": "input_cache_write" }, price(cacheWrite)))
        : null));

  let sourceBlock;
  if (source) {
    const url = safeUrl(source.url);
    sourceBlock = h("dl", { class: "details", id: "price-source" },
      row("Source", url ? h("a", { href: url, rel: "noopener noreferrer" }, source.url) : source.url),
      row("Checked", h("time", { datetime: source.checked }, source.checked)),
      source.via ? row("Via", source.via) : null,
      source.note ? row("Note", source.note) : null);
  } else {
    sourceBlock = h("p", { class: "muted", id: "price-source" }, user && user.admin
      ? "The catalog does not say where this price comes from."
      : "Where this price comes from is shown to admins.");
  }

  const base = location.origin;
  const blocks = examples({ ...model, endpoints }, base).map((example) => {
    const code = h("code", {}, example.code);
    const copyExample = copyButton(example.code);
    copyExample.setAttribute("aria-label", `Copy the ${example.title} example`);
    return h("section", { class: "example", id: `example-${example.key}`, "aria-label": example.title },
      h("div", { class: "example-head" }, h("h3", {}, example.title), copyExample),
      h("pre", { tabindex: "0" }, code));
  });

  root.append(
    h("div", { class: "grid model-grid" },
      h("section", { "aria-labelledby": "details-title" }, h("h2", { id: "details-title" }, "Details"), details),
      h("section", { "aria-labelledby": "prices-title" },
        h("h2", { id: "prices-title" }, "Prices"), prices,
        h("h3", {}, "Price source"), sourceBlock)),
    h("h2", {}, "Use it"),
    h("p", { class: "muted" }, "Set QUANTIZED_API_KEY to your API key, then paste one of these."),
    ...blocks,
  );
}
