// The console's shell: routes by path, signs in and out, shows the navigation.
// Each page is a module under ./pages exporting `render(main, context)`, where context is
// {params, query, user, navigate}; it builds the page into `main` with ./dom.js.

import { ApiError, session, whoami } from "./api.js";
import { clear, h, notice } from "./dom.js";

const ROUTES = [
  [/^\/ui\/?$/, "models"],
  [/^\/ui\/models\/?$/, "models"],
  [/^\/ui\/models\/(?<id>.+)$/, "model"],
  [/^\/ui\/usage\/?$/, "usage"],
  [/^\/ui\/signin\/?$/, "signin"],
  [/^\/ui\/callback\/?$/, "callback"],
  [/^\/ui\/admin\/keys\/?$/, "admin/keys"],
  [/^\/ui\/admin\/catalog\/?$/, "admin/catalog"],
  [/^\/ui\/admin\/budgets\/?$/, "admin/budgets"],
  [/^\/ui\/admin\/teams\/?$/, "admin/teams"],
  [/^\/ui\/admin\/teams\/(?<id>[^/]+)\/?$/, "admin/teams"],
  [/^\/ui\/admin\/audit\/?$/, "admin/audit"],
  [/^\/ui\/admin\/spend\/?$/, "admin/spend"],
];
const PUBLIC = new Set(["signin", "callback"]);
let user = null;
let routing = 0; // the newest navigation: an older one that finishes late draws nothing

export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  return route();
}

export async function signedIn(token) {
  session.set(token);
  user = null;
  const next = sessionStorage.getItem("quantized.next") || "/ui/models";
  sessionStorage.removeItem("quantized.next");
  await navigate(next, { replace: true });
}

function signOut() {
  session.clear();
  user = null;
  navigate("/ui/signin");
}

function renderNav() {
  const nav = document.getElementById("nav");
  const who = document.getElementById("who");
  if (!user) {
    clear(nav);
    clear(who);
    return;
  }
  const here = location.pathname;
  const link = (href, text) => h("a", {
    href, "data-link": true, "aria-current": here.startsWith(href) ? "page" : null,
  }, text);
  const links = [link("/ui/models", "Models"), link("/ui/usage", "My usage")];
  if (user.admin) {
    links.push(
      link("/ui/admin/keys", "Keys"), link("/ui/admin/teams", "Teams"),
      link("/ui/admin/catalog", "Catalog"), link("/ui/admin/budgets", "Budgets"), link("/ui/admin/spend", "Spend"),
      link("/ui/admin/audit", "Audit log"),
    );
  }
  clear(nav, links);
  clear(who,
    h("span", { class: "muted" }, `${user.kind} ${user.id}${user.admin ? " · admin" : ""}`),
    h("button", { type: "button", id: "signout", onclick: signOut }, "Sign out"));
}

async function route() {
  const mine = ++routing;
  const stale = () => mine !== routing;
  const main = document.getElementById("main");
  const path = location.pathname;
  let name = null;
  let params = {};
  for (const [pattern, page] of ROUTES) {
    const found = path.match(pattern);
    if (found) {
      try {
        params = Object.fromEntries(
          Object.entries(found.groups || {}).map(([k, v]) => [k, decodeURIComponent(v)]),
        );
        name = page;
      } catch {
        name = null; // a malformed %-escape names nothing
      }
      break;
    }
  }
  if (name === null) {
    clear(main, h("h1", {}, "Not found"), notice(`There is no page at ${path}.`));
    return;
  }
  if (!PUBLIC.has(name)) {
    if (!session.token()) {
      sessionStorage.setItem("quantized.next", path + location.search);
      return navigate("/ui/signin", { replace: true });
    }
    if (!user) {
      try {
        user = await whoami();
        if (stale()) return;
      } catch (error) {
        if (stale()) return;
        if (error instanceof ApiError && error.status === 401) {
          session.clear();
          sessionStorage.setItem("quantized.next", path + location.search);
          return navigate("/ui/signin?expired=1", { replace: true });
        }
        clear(main, notice(error.message));
        return;
      }
    }
    if (name.startsWith("admin/") && !user.admin) {
      renderNav();
      clear(main, h("h1", {}, "Admins only"), notice("This page needs an admin key or token."));
      return;
    }
  }
  renderNav();
  const query = Object.fromEntries(new URLSearchParams(location.search));
  try {
    const page = await import(`./pages/${name}.js`);
    if (stale()) return;
    clear(main);
    await page.render(main, { params, query, user, navigate, signedIn });
  } catch (error) {
    clear(main, notice(error instanceof ApiError ? error.message : `This page failed: ${error}`));
  }
  main.focus({ preventScroll: true });
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-link]");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey || link.target) return;
  const url = new URL(link.href);
  if (url.origin !== location.origin) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener("popstate", route);
// A token that stops working (revoked, or a JWT that expired) sends the tab to sign-in.
window.addEventListener("quantized:unauthorized", () => {
  if (!user) return; // signing in, or the route's own check: they say it themselves
  session.clear();
  user = null;
  sessionStorage.setItem("quantized.next", location.pathname + location.search);
  navigate("/ui/signin?expired=1", { replace: true });
});
route();
