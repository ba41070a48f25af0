// api.js — every byte of data comes from /api/v1. Two ways to be signed in:
//
//  - a browser session (POST /auth/login): an HttpOnly cookie the browser
//    sends by itself; state-changing requests also carry the session's CSRF
//    token in X-CSRF-Token (the server refuses them without it);
//  - an API key pasted on the /signin page (kept in localStorage) and sent
//    as a Bearer token, which wins over the cookie when both exist.
//
// Signed out, public projects are still readable: the server answers them
// without credentials.
const KEY = 'wb.apiKey';

// {user: {name, is_admin} | null, csrf?} from GET /auth/session.
export const session = { user: null, csrf: null, loaded: false };

export function apiKey() {
  return localStorage.getItem(KEY) || '';
}

export function setApiKey(k) {
  if (k) localStorage.setItem(KEY, k);
  else localStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function authHeaders(method) {
  const k = apiKey();
  if (k) return { Authorization: `Bearer ${k}` };
  if (method !== 'GET' && method !== 'HEAD' && session.csrf) return { 'X-CSRF-Token': session.csrf };
  return {};
}

export async function api(path, opts = {}, retried = false) {
  const method = opts.method || 'GET';
  const headers = authHeaders(method);
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
    signal: opts.signal,
  });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(res.status, 'invalid_json', `bad response from ${path}`);
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    // A sign-in in another tab replaces the session cookie, and with it the
    // CSRF token this tab holds: learn the new one and try once more.
    if (res.status === 403 && e.code === 'csrf' && !retried) {
      await loadSession();
      return api(path, opts, true);
    }
    throw new ApiError(res.status, e.code || 'error', e.message || `http ${res.status}`);
  }
  return data;
}

// The raw answer to GET /api/v1<path> (image bytes, a file to download),
// signed in the same way as api(): the key when there is one, else the
// session cookie. Never an empty Bearer header, which the server refuses.
export async function apiRaw(path) {
  const res = await fetch(`/api/v1${path}`, { headers: authHeaders('GET'), credentials: 'same-origin' });
  if (!res.ok) throw new ApiError(res.status, 'http', `http ${res.status}`);
  return res;
}

// Who is signed in (and the CSRF token of a cookie session).
export async function loadSession() {
  try {
    const s = await api('/auth/session');
    session.user = s.user;
    session.csrf = s.csrf || null;
  } catch (e) {
    // A stored key the server no longer accepts: forget it, go on signed out.
    if (e instanceof ApiError && e.status === 401 && apiKey()) {
      setApiKey('');
      return loadSession();
    }
    session.user = null;
    session.csrf = null;
  }
  session.loaded = true;
  return session;
}

export async function login(name, password) {
  const s = await api('/auth/login', { method: 'POST', body: { name, password } });
  session.user = s.user;
  session.csrf = s.csrf;
  return s;
}

export async function logout() {
  if (apiKey()) setApiKey('');
  else if (session.user) await api('/auth/logout', { method: 'POST' });
  session.user = null;
  session.csrf = null;
}

export const enc = encodeURIComponent;
export const runPath = (e, p, id) => `/projects/${enc(e)}/${enc(p)}/runs/${enc(id)}`;

// A text (non-JSON) resource, such as a patch; null when it does not exist.
export async function apiText(path) {
  const res = await fetch(`/api/v1${path}`, { headers: authHeaders('GET'), credentials: 'same-origin' });
  if (res.status === 404) return null;
  if (!res.ok) throw new ApiError(res.status, 'error', `http ${res.status}`);
  return res.text();
}
