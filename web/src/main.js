// main.js — the wb web UI: a small client-side router over permanent URLs.
//
//   /login, /setup?token=            sign in with name + password; set a password (account.js)
//   /signin                          paste an API key (kept in localStorage)
//   /settings[?team=]                API keys, my webhooks, password, teams, users (account.js)
//   /                                projects
//   /<entity>/<project>              runs table (filters, sort, group, columns in the query)
//   /<entity>/<project>/runs/<id>    run page (x axis, smoothing, log, band, zoom in the query)
//   /<entity>/<project>/compare?runs=a,b,c
//   /<entity>/<project>/groups/<group>   a distributed job: ranks, cross-rank aggregates
//   /<entity>/<project>/settings     visibility, members, notifications (account.js, notify.js)
//   /<entity>/<project>/reports[/<id>]   reports with live panels (report.js)
//   /<entity>/<project>/artifacts[/<name>[/<vN|alias>]]   artifacts, versions, lineage (artifacts.js)
//   /<entity>/<project>/sweeps[/<id>]    sweeps; a sweep's trials, plots, importance (sweep.js)
//
// Signed out, every page still renders what the server lets anyone read
// (public projects); a 401 offers the sign-in page.
//
// The server answers every one of these paths with index.html; the state of
// a view lives in its URL (history.replaceState as it changes), so a copied
// link reopens the same view.
import './app.css';
import { h, clear } from './dom.js';
import { api, apiKey, setApiKey, ApiError, session, loadSession, logout } from './api.js';
import { navigate, setCrumbs, showError, setRouter } from './nav.js';
import { renderLogin, renderSetup, renderSettings, renderProjectSettings } from './account.js';
import { renderReports, renderReport } from './report.js';
import { renderProject } from './project.js';
import { renderRun } from './run.js';
import { renderCompare } from './compare.js';
import { renderGroup } from './group.js';
import { renderArtifacts, renderArtifact, renderVersion } from './artifacts.js';
import { renderSweeps, renderSweep } from './sweep.js';

const app = document.getElementById('app');
let dispose = null;

async function renderSignin(root) {
  setCrumbs([['sign in']]);
  const next = new URLSearchParams(location.search).get('next') || '/';
  const input = h('input', { type: 'password', id: 'apikey', placeholder: 'wb_…', autocomplete: 'off', size: 48 });
  const msg = h('p', { class: 'muted', id: 'signin-msg' });
  const form = h('form', { class: 'card signin', onsubmit: async (ev) => {
    ev.preventDefault();
    setApiKey(input.value.trim());
    try {
      await api('/keys');
      await loadSession();
      navigate(next.startsWith('/') && !next.startsWith('//') ? next : '/');
    } catch (e) {
      msg.textContent = e instanceof ApiError && e.status === 401 ? 'That key was not accepted.' : String(e.message);
      msg.className = 'error';
    }
  } },
  h('h1', null, 'Sign in'),
  h('p', { class: 'muted' }, 'Paste an API key. `wb server` writes the first one to api_key= in its settings file ($WB_CONFIG_DIR/settings or ~/.config/wb/settings). The key stays in this browser (localStorage) and is sent as a Bearer token.'),
  input, ' ', h('button', { type: 'submit', class: 'primary' }, 'Sign in'), msg,
  apiKey() ? h('p', null, h('button', { type: 'button', onclick: () => { setApiKey(''); input.value = ''; msg.textContent = 'Signed out.'; } }, 'Forget the stored key')) : null);
  root.appendChild(form);
  input.focus();
}

async function renderHome(root) {
  setCrumbs([['projects']]);
  const { projects } = await api('/projects');
  const body = h('tbody');
  for (const p of projects) {
    const href = `/${encodeURIComponent(p.entity)}/${encodeURIComponent(p.name)}`;
    body.appendChild(h('tr', null,
      h('td', null, h('a', { href }, `${p.entity}/${p.name}`)),
      h('td', { class: 'num' }, String(p.run_count)),
      h('td', null, p.visibility || ''),
      h('td', null, p.updated_at ? new Date(p.updated_at * 1000).toLocaleString() : '')));
  }
  clear(root);
  root.appendChild(h('h1', null, 'Projects'));
  if (!projects.length) {
    root.appendChild(h('p', { class: 'muted' }, session.user ? 'No projects yet. Log a run with libwb and it appears here.'
      : 'No public projects here. Sign in to see yours.'));
    return;
  }
  root.appendChild(h('table', { class: 'grid', id: 'projects' },
    h('thead', null, h('tr', null, h('th', null, 'project'), h('th', { class: 'num' }, 'runs'), h('th', null, 'visibility'), h('th', null, 'updated'))), body));
}

// The header's right side: who is signed in, settings, sign out — or sign in.
function renderUserBox() {
  const box = document.getElementById('userbox');
  if (!box) return;
  clear(box);
  if (session.user) {
    box.appendChild(h('a', { href: '/settings', id: 'settings-link' }, session.user.name));
    box.appendChild(h('a', { href: '#', id: 'logout', onclick: async (ev) => {
      ev.preventDefault();
      try { await logout(); } catch { /* the session is gone either way */ }
      renderUserBox();
      navigate('/');
    } }, 'Sign out'));
  } else {
    box.appendChild(h('a', { href: `/login?next=${encodeURIComponent(location.pathname + location.search)}`, id: 'login-link' }, 'Sign in'));
  }
}

async function route() {
  if (dispose) { try { dispose(); } catch { /* already gone */ } }
  dispose = null;
  window.__wb = { ready: false, charts: {} };
  clear(app);
  const parts = location.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  try {
    if (!session.loaded) await loadSession();
    renderUserBox();
    if (parts[0] === 'signin' && parts.length === 1) {
      await renderSignin(app);
    } else if (parts[0] === 'login' && parts.length === 1) {
      await renderLogin(app);
    } else if (parts[0] === 'setup' && parts.length === 1) {
      await renderSetup(app);
    } else if (parts[0] === 'settings' && parts.length === 1) {
      await renderSettings(app);
    } else if (parts.length === 3 && parts[2] === 'settings') {
      await renderProjectSettings(app, parts[0], parts[1]);
    } else if (parts.length === 3 && parts[2] === 'reports') {
      await renderReports(app, parts[0], parts[1]);
    } else if (parts.length === 4 && parts[2] === 'reports') {
      dispose = await renderReport(app, parts[0], parts[1], parts[3]);
    } else if (parts.length === 0) {
      await renderHome(app);
    } else if (parts.length === 2) {
      dispose = await renderProject(app, parts[0], parts[1]);
    } else if (parts.length === 4 && parts[2] === 'runs') {
      dispose = await renderRun(app, parts[0], parts[1], parts[3]);
    } else if (parts.length === 4 && parts[2] === 'groups') {
      dispose = await renderGroup(app, parts[0], parts[1], parts[3]);
    } else if (parts.length >= 3 && parts.length <= 5 && parts[2] === 'artifacts') {
      if (parts.length === 3) await renderArtifacts(app, parts[0], parts[1]);
      else if (parts.length === 4) await renderArtifact(app, parts[0], parts[1], parts[3]);
      else await renderVersion(app, parts[0], parts[1], parts[3], parts[4]);
    } else if (parts.length === 3 && parts[2] === 'sweeps') {
      await renderSweeps(app, parts[0], parts[1]);
    } else if (parts.length === 4 && parts[2] === 'sweeps') {
      dispose = await renderSweep(app, parts[0], parts[1], parts[3]);
    } else if (parts.length === 3 && parts[2] === 'compare') {
      dispose = await renderCompare(app, parts[0], parts[1]);
    } else {
      setCrumbs([['not found']]);
      app.appendChild(h('div', { class: 'error-box' }, 'No page at this address.'));
    }
  } catch (e) {
    showError(app, e);
  }
  window.__wb.ready = true;
  document.body.dataset.ready = location.pathname + location.search;
}

document.addEventListener('click', (ev) => {
  const a = ev.target.closest('a');
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || a.target) return;
  const href = a.getAttribute('href');
  if (!href || !href.startsWith('/') || href.startsWith('//') || href.startsWith('/api/')) return;
  ev.preventDefault();
  navigate(href);
});
setRouter(route);
window.addEventListener('popstate', route);
route();
