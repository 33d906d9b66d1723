// Sign in with an API key (kept in this tab's session storage only), or with the identity
// provider: OpenID Connect authorization code flow with PKCE (S256), when configured.

import { ApiError, session, whoami } from "../api.js";
import { field, h, notice } from "../dom.js";

export async function render(main, { query, signedIn }) {
  const config = await (await fetch("/ui/config.json", { cache: "no-store" })).json();
  const key = h("input", {
    type: "password", name: "key", autocomplete: "off", spellcheck: "false", required: true,
    placeholder: "sk-quantized-…",
  });
  const status = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "card narrow" },
    h("h1", {}, "Sign in"),
    query.expired ? notice("Your session ended: sign in again.", "info") : null,
    field("API key", key, "Kept in this browser tab only, and sent as the bearer token."),
    h("button", { type: "submit" }, "Sign in"),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.replaceChildren();
    session.set(key.value.trim());
    try {
      await whoami();
    } catch (error) {
      session.clear();
      status.replaceChildren(notice(
        error instanceof ApiError && error.status === 401
          ? "This key is not valid (unknown, revoked or expired)." : error.message,
      ));
      key.focus();
      return;
    }
    await signedIn(key.value.trim());
  });
  main.append(form);
  if (config.oidc) {
    const button = h("button", { type: "button", id: "oidc" }, "Sign in with your identity provider");
    button.addEventListener("click", () => startOidc(config.oidc).catch((error) => {
      status.replaceChildren(notice(`The identity provider cannot be reached: ${error.message}`));
    }));
    form.append(h("p", { class: "or" }, "or"), button);
  }
  key.focus();
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export async function discovery(oidc) {
  const url = `${oidc.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
  const response = await fetch(url, { credentials: "omit" });
  if (!response.ok) throw new Error(`discovery answered ${response.status}`);
  return response.json();
}

async function startOidc(oidc) {
  const found = await discovery(oidc);
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem("quantized.oidc", JSON.stringify({ verifier, state }));
  const url = new URL(found.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: oidc.client_id,
    redirect_uri: `${location.origin}/ui/callback`,
    scope: oidc.scope,
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();
  location.assign(url.toString());
}

