// The APIs the console uses (the same the CLI and scripts use), with the caller's token.

const KEY = "quantized.token";

export const session = {
  token: () => sessionStorage.getItem(KEY),
  set(token) { sessionStorage.setItem(KEY, token); },
  clear() { sessionStorage.clear(); },
};

export class ApiError extends Error {
  constructor(status, message, param, code) {
    super(message);
    this.status = status;
    this.param = param;
    this.code = code;
  }
}

/** Call an API: JSON in, JSON out; errors as ApiError with the API's own message. */
export async function api(path, { method = "GET", body, query, raw = false } = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json" };
  const token = session.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit", cache: "no-store",
    });
  } catch (error) {
    if (error instanceof TypeError && token && /[^\x20-\x7e]/.test(token)) {
      throw new ApiError(401, "This key has characters no key has: check what you pasted.");
    }
    throw new ApiError(0, "The gateway cannot be reached.");
  }
  if (raw && response.ok) return response;
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    if (response.status === 401 && token) {
      window.dispatchEvent(new Event("quantized:unauthorized"));
    }
    const error = (data && data.error) || {};
    throw new ApiError(
      response.status, error.message || `The gateway answered ${response.status}.`,
      error.param, error.code,
    );
  }
  return data;
}

/** Who the token belongs to: {kind, id, admin}, from /v1/usage (which also carries the
caller's own budget); throws ApiError 401 for a bad token. */
export async function whoami() {
  const usage = await api("/v1/usage");
  return { ...usage.caller, admin: Boolean(usage.caller.admin) };
}
