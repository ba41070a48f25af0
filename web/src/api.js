// api.js — every byte of data comes from /api/v1 with the API key the user
// pasted on the sign-in page (kept in localStorage) as a Bearer token.
const KEY = 'wb.apiKey';

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

export async function api(path, opts = {}) {
  const headers = { Authorization: `Bearer ${apiKey()}` };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`/api/v1${path}`, {
    method: opts.method || 'GET',
    headers,
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
    throw new ApiError(res.status, e.code || 'error', e.message || `http ${res.status}`);
  }
  return data;
}

export const enc = encodeURIComponent;
export const runPath = (e, p, id) => `/projects/${enc(e)}/${enc(p)}/runs/${enc(id)}`;

// A text (non-JSON) resource, such as a patch; null when it does not exist.
export async function apiText(path) {
  const res = await fetch(`/api/v1${path}`, { headers: { Authorization: `Bearer ${apiKey()}` } });
  if (res.status === 404) return null;
  if (!res.ok) throw new ApiError(res.status, 'error', `http ${res.status}`);
  return res.text();
}
