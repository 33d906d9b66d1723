// The identity provider sends the browser back here with a code: exchange it (with the
// PKCE verifier) for tokens, and sign in with the first token the gateway accepts (the
// access token, else the ID token).

import { session } from "../api.js";
import { clear, h, notice } from "../dom.js";
import { discovery } from "./signin.js";

async function accepted(token) {
  const response = await fetch("/v1/usage", {
    headers: { Authorization: `Bearer ${token}` }, credentials: "omit", cache: "no-store",
  });
  return response.ok;
}

export async function render(main, { query, signedIn }) {
  history.replaceState(null, "", "/ui/callback"); // the code leaves the address bar at once
  const saved = JSON.parse(sessionStorage.getItem("quantized.oidc") || "null");
  sessionStorage.removeItem("quantized.oidc");
  const fail = (text) => clear(main, h("h1", {}, "Sign in"), notice(text),
    h("p", {}, h("a", { href: "/ui/signin", "data-link": true }, "Try again")));
  if (!saved || query.state !== saved.state) {
    return fail("This sign-in was not started here (its state does not match).");
  }
  if (query.error) return fail(`The identity provider refused the sign-in (${query.error}).`);
  if (!query.code) return fail("The identity provider sent no code.");
  main.append(h("p", { class: "muted" }, "Signing in…"));
  const config = await (await fetch("/ui/config.json", { cache: "no-store" })).json();
  const found = await discovery(config.oidc);
  const response = await fetch(found.token_endpoint, {
    method: "POST",
    credentials: "omit",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: query.code,
      redirect_uri: `${location.origin}/ui/callback`,
      client_id: config.oidc.client_id,
      code_verifier: saved.verifier,
    }),
  });
  const tokens = await response.json().catch(() => ({}));
  if (!response.ok) return fail(`The identity provider refused the code (${tokens.error || response.status}).`);
  for (const token of [tokens.access_token, tokens.id_token]) {
    if (typeof token === "string" && token && await accepted(token)) {
      await signedIn(token);
      return;
    }
  }
  session.clear();
  return fail("The gateway does not accept the identity provider's tokens: its issuer or audience differs from the gateway's JWT settings.");
}
