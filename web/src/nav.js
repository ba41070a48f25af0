// nav.js — what every page shares about where it is: moving to a URL,
// keeping a view's state in the query, the breadcrumbs and the error box.
// Pages depend on this module, never on the router (main.js), which
// registers itself here with setRouter.
import { h, clear } from './dom.js';
import { ApiError } from './api.js';

let router = () => {};

// main.js: the function that renders the page of the current URL.
export function setRouter(fn) { router = fn; }

export function navigate(url, replace = false) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  router();
}

// Replace the query of the current URL (view state) without re-rendering.
export function setQuery(params) {
  const qs = params.toString();
  history.replaceState(null, '', location.pathname + (qs ? `?${qs}` : '') + location.hash);
}

export function setCrumbs(parts) {
  const crumbs = document.getElementById('crumbs');
  clear(crumbs);
  parts.forEach(([label, href], i) => {
    if (i) crumbs.appendChild(h('span', { class: 'sep' }, '/'));
    crumbs.appendChild(href ? h('a', { href }, label) : h('span', null, label));
  });
}

export function showError(root, err) {
  clear(root);
  const msg = err instanceof ApiError ? `${err.message} (${err.status})` : String(err && err.message ? err.message : err);
  root.appendChild(h('div', { class: 'error-box' }, h('strong', null, 'Could not load this page. '), msg));
  if (err instanceof ApiError && err.status === 401) {
    root.appendChild(h('p', null, h('a', { href: `/login?next=${encodeURIComponent(location.pathname + location.search)}`, id: 'signin-link' }, 'Sign in')));
  }
}
