// The identity provider sends the browser back here with a code: exchange it (with the
// PKCE verifier) for tokens, and use the access token (else the ID token) as the bearer.

import { clear, h, notice } from "../dom.js";
import { discovery } from "./signin.js";

export async function render(main, { query, signedIn }) {
  const saved = JSON.parse(sessionStorage.getItem("quantized.oidc") || "null");
  sessionStorage.removeItem("quantized.oidc");
  const fail = (text) => clear(main, h("h1", {}, "Sign in"), notice(text),
    h("p", {}, h("a", { href: "/ui/signin", "data-link": true }, "Try again")));
  if (query.error) return fail(`The identity provider refused: ${query.error_description || query.error}.`);
  if (!saved || !query.code || query.state !== saved.state) {
    return fail("This sign-in was not started here (its state does not match).");
  }
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
  if (!response.ok) return fail(`The identity provider refused the code: ${tokens.error || response.status}.`);
  const token = tokens.access_token || tokens.id_token;
  if (!token) return fail("The identity provider sent no token.");
  history.replaceState(null, "", "/ui/callback");  // the code leaves the address bar
  await signedIn(token);
}
