// forms.js — the pieces the settings pages (account.js, notify.js) build
// their cards from: a status line, an error shown in it, a table.
import { h } from './dom.js';
import { ApiError } from './api.js';

// The server's message for a failed request (with its HTTP status), or the error's text.
export function errText(e) {
  return e instanceof ApiError ? `${e.message} (${e.status})` : String(e && e.message ? e.message : e);
}

// A status line under a form: muted for news, .error after fail().
export function status(id) {
  return h('p', { class: 'muted', id, role: 'status' });
}

export function fail(el, e) {
  el.className = 'error';
  el.textContent = errText(e);
}

export function say(el, text) {
  el.className = 'muted';
  el.textContent = text;
}

export function table(id, head, rows) {
  return h('table', { class: 'grid', id }, h('thead', null, h('tr', null, head.map((c) => h('th', null, c)))),
    h('tbody', null, rows));
}
