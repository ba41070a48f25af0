// account.js — signing in and the settings pages:
//
//   /login?next=           name + password → a session cookie
//   /setup?token=          set a password from a one-time setup link
//   /settings              API keys (created, shown once, revoked), my
//                          webhooks, password, teams; server admins also:
//                          users (+ setup links, deactivate / reactivate)
//   /settings?team=<name>  a team's members and roles
//   /<e>/<p>/settings      a project's visibility, members and notifications
//                          (webhooks, rules, delivery log: notify.js)
//
// Every user string goes in through dom.js (textContent / attributes).
import { h, clear, fmtTime } from './dom.js';
import { api, enc, login, session, ApiError } from './api.js';
import { navigate, setCrumbs } from './nav.js';
import { errText, status, fail, say, table } from './forms.js';
import { notificationCards, webhooksCard } from './notify.js';

const ROLES = ['viewer', 'editor', 'admin'];

function safeNext() {
  const next = new URLSearchParams(location.search).get('next') || '/';
  return next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export async function renderLogin(root) {
  setCrumbs([['sign in']]);
  const name = h('input', { type: 'text', id: 'login-name', autocomplete: 'username', placeholder: 'name', size: 30 });
  const pw = h('input', { type: 'password', id: 'login-password', autocomplete: 'current-password', placeholder: 'password', size: 30 });
  const msg = status('login-msg');
  const form = h('form', { class: 'card signin', id: 'login-form', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      await login(name.value.trim(), pw.value);
      navigate(safeNext());
    } catch (e) {
      msg.className = 'error';
      msg.textContent = e instanceof ApiError && e.status === 401 ? 'Wrong name or password.' : errText(e);
    }
  } },
  h('h1', null, 'Sign in'),
  h('p', null, h('label', null, 'Name', h('br'), name)),
  h('p', null, h('label', null, 'Password', h('br'), pw)),
  h('p', null, h('button', { type: 'submit', class: 'primary', id: 'login-submit' }, 'Sign in')),
  msg,
  h('p', { class: 'muted' }, 'Or ', h('a', { href: `/signin?next=${enc(safeNext())}` }, 'use an API key'),
    '. Public projects can be read without signing in.'));
  root.appendChild(form);
  name.focus();
}

export async function renderSetup(root) {
  setCrumbs([['set your password']]);
  const token = new URLSearchParams(location.search).get('token') || '';
  const pw = h('input', { type: 'password', id: 'setup-password', autocomplete: 'new-password', size: 30 });
  const pw2 = h('input', { type: 'password', id: 'setup-password2', autocomplete: 'new-password', size: 30 });
  const msg = status('setup-msg');
  root.appendChild(h('form', { class: 'card signin', id: 'setup-form', onsubmit: async (ev) => {
    ev.preventDefault();
    if (pw.value !== pw2.value) { msg.className = 'error'; msg.textContent = 'The two passwords differ.'; return; }
    try {
      const s = await api('/auth/setup', { method: 'POST', body: { token, password: pw.value } });
      session.user = s.user;
      session.csrf = s.csrf;
      history.replaceState(null, '', '/setup'); // the token is spent: keep it out of the history
      navigate('/settings');
    } catch (e) {
      fail(msg, e);
    }
  } },
  h('h1', null, 'Set your password'),
  h('p', { class: 'muted' }, 'This one-time link sets the password of your account: at least 8 characters, not a dictionary word, a common password or your name.'),
  h('p', null, h('label', null, 'Password', h('br'), pw)),
  h('p', null, h('label', null, 'Again', h('br'), pw2)),
  h('p', null, h('button', { type: 'submit', class: 'primary', id: 'setup-submit' }, 'Set password and sign in')), msg));
}

function roleSelect(value, onchange) {
  const sel = h('select', { onchange: () => onchange(sel.value) }, ROLES.map((r) => h('option', { value: r }, r)));
  sel.value = value || 'viewer';
  return sel;
}

// Members of a team or project: list, change role, remove, add.
function membersCard(id, path, title) {
  const box = h('div', { class: 'card', id });
  const msg = status(`${id}-msg`);
  const who = h('input', { type: 'text', placeholder: 'user name', size: 18, class: 'member-name' });
  let addRole = 'viewer';
  async function load() {
    clear(box);
    box.appendChild(h('h3', null, title));
    let members = [];
    try {
      members = (await api(path)).members;
    } catch (e) {
      box.appendChild(h('p', { class: 'error' }, errText(e)));
      return;
    }
    box.appendChild(table(`${id}-table`, ['user', 'role', ''], members.map((m) => h('tr', { dataset: { user: m.user } },
      h('td', null, m.user),
      h('td', null, roleSelect(m.role, async (r) => {
        try { await api(`${path}/${enc(m.user)}`, { method: 'PUT', body: { role: r } }); say(msg, `${m.user} is now ${r}.`); } catch (e) { fail(msg, e); load(); }
      })),
      h('td', null, h('button', { type: 'button', class: 'remove-member', onclick: async () => {
        try { await api(`${path}/${enc(m.user)}`, { method: 'DELETE' }); load(); } catch (e) { fail(msg, e); }
      } }, 'Remove'))))));
    box.appendChild(h('form', { class: 'toolbar add-member', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        await api(`${path}/${enc(who.value.trim())}`, { method: 'PUT', body: { role: addRole } });
        who.value = '';
        load();
      } catch (e) { fail(msg, e); }
    } }, who, roleSelect(addRole, (r) => { addRole = r; }), h('button', { type: 'submit' }, 'Add member')));
    box.appendChild(msg);
  }
  load();
  return box;
}

export async function renderSettings(root) {
  if (!session.user) {
    navigate(`/login?next=${enc(location.pathname + location.search)}`, true);
    return;
  }
  const team = new URLSearchParams(location.search).get('team');
  if (team) {
    setCrumbs([['settings', '/settings'], [`team ${team}`]]);
    root.appendChild(h('div', { class: 'page-head' }, h('h1', null, `Team ${team}`)));
    root.appendChild(membersCard('team-members', `/teams/${enc(team)}/members`, 'Members'));
    return;
  }
  setCrumbs([['settings']]);
  root.appendChild(h('div', { class: 'page-head' }, h('h1', null, 'Settings'),
    h('span', { class: 'muted', id: 'settings-user' }, `signed in as ${session.user.name}`)));
  const cards = h('div', { class: 'cards' });
  root.appendChild(cards);
  cards.appendChild(keysCard());
  cards.appendChild(webhooksCard('my-webhooks', '/user/webhooks', 'My webhooks',
    'Slack incoming webhooks for every run your keys create, in any project.'));
  cards.appendChild(teamsCard());
  cards.appendChild(passwordCard());
  if (session.user.is_admin) cards.appendChild(usersCard());
}

function keysCard() {
  const box = h('div', { class: 'card', id: 'keys' });
  const name = h('input', { type: 'text', placeholder: 'what it is for, e.g. laptop', id: 'key-name', size: 24 });
  const shown = h('div', { id: 'new-key' });
  const msg = status('keys-msg');
  const list = h('div');
  async function load() {
    clear(list);
    try {
      const { keys } = await api('/keys');
      list.appendChild(table('keys-table', ['prefix', 'name', 'created', ''], keys.map((k) => h('tr', { dataset: { id: String(k.id) } },
        h('td', null, h('code', null, `${k.prefix}…`)), h('td', null, k.name), h('td', null, fmtTime(k.created_at)),
        h('td', null, k.revoked_at ? h('span', { class: 'muted' }, 'revoked') : h('button', { type: 'button', class: 'revoke', onclick: async () => {
          try { await api(`/keys/${k.id}`, { method: 'DELETE' }); load(); } catch (e) { fail(msg, e); }
        } }, 'Revoke'))))));
    } catch (e) { fail(msg, e); }
  }
  box.appendChild(h('h3', null, 'API keys'));
  box.appendChild(h('p', { class: 'muted' }, 'For the SDK and scripts: ', h('code', null, 'wb login --host ' + location.origin), '.'));
  box.appendChild(h('form', { class: 'toolbar', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const k = await api('/keys', { method: 'POST', body: { name: name.value.trim() } });
      clear(shown);
      shown.appendChild(h('div', { class: 'card' }, h('p', null, 'Copy the key now: it is not shown again.'),
        h('input', { type: 'text', readonly: true, value: k.key, size: 50, id: 'new-key-value' })));
      name.value = '';
      load();
    } catch (e) { fail(msg, e); }
  } }, name, h('button', { type: 'submit', id: 'key-create' }, 'Create key')));
  box.appendChild(shown);
  box.appendChild(list);
  box.appendChild(msg);
  load();
  return box;
}

function teamsCard() {
  const box = h('div', { class: 'card', id: 'teams' });
  const name = h('input', { type: 'text', placeholder: 'team name', id: 'team-name', size: 18 });
  const msg = status('teams-msg');
  const list = h('div');
  async function load() {
    clear(list);
    try {
      const { teams } = await api('/teams');
      list.appendChild(table('teams-table', ['team', 'your role'], teams.map((t) => h('tr', null,
        h('td', null, h('a', { href: `/settings?team=${enc(t.name)}` }, t.name)), h('td', null, t.role || '')))));
    } catch (e) { fail(msg, e); }
  }
  box.appendChild(h('h3', null, 'Teams'));
  box.appendChild(h('form', { class: 'toolbar', onsubmit: async (ev) => {
    ev.preventDefault();
    try { await api('/teams', { method: 'POST', body: { name: name.value.trim() } }); name.value = ''; load(); } catch (e) { fail(msg, e); }
  } }, name, h('button', { type: 'submit', id: 'team-create' }, 'Create team')));
  box.appendChild(list);
  box.appendChild(msg);
  load();
  return box;
}

function passwordCard() {
  const cur = h('input', { type: 'password', autocomplete: 'current-password', id: 'pw-current', size: 20 });
  const pw = h('input', { type: 'password', autocomplete: 'new-password', id: 'pw-new', size: 20 });
  const msg = status('pw-msg');
  return h('form', { class: 'card', id: 'password', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      await api(`/users/${enc(session.user.name)}/password`, { method: 'PUT', body: { password: pw.value, current_password: cur.value } });
      say(msg, 'Password changed; sign in again.');
      session.user = null;
      navigate('/login');
    } catch (e) { fail(msg, e); }
  } }, h('h3', null, 'Password'), h('p', null, h('label', null, 'Current ', cur)), h('p', null, h('label', null, 'New ', pw)),
  h('button', { type: 'submit' }, 'Change password'), msg);
}

function usersCard() {
  const box = h('div', { class: 'card', id: 'users' });
  const name = h('input', { type: 'text', placeholder: 'user name', id: 'user-name', size: 18 });
  const link = h('div', { id: 'setup-link' });
  const msg = status('users-msg');
  const list = h('div');
  async function load() {
    clear(list);
    try {
      const { users } = await api('/users');
      // Deactivating ends the user's keys and sessions at once (offboarding); not for oneself.
      const toggle = (u) => u.name === session.user.name ? '' : h('button', { type: 'button', class: 'user-active', onclick: async () => {
        try { await api(`/users/${enc(u.name)}`, { method: 'PATCH', body: { active: !u.is_active } }); load(); } catch (e) { fail(msg, e); }
      } }, u.is_active ? 'Deactivate' : 'Reactivate');
      list.appendChild(table('users-table', ['user', 'admin', 'password set', 'active', ''], users.map((u) => h('tr', { dataset: { user: u.name } },
        h('td', null, u.name), h('td', null, u.is_admin ? 'yes' : ''), h('td', null, u.has_password ? 'yes' : 'no'),
        h('td', null, u.is_active ? 'yes' : h('span', { class: 'muted' }, 'deactivated')), h('td', null, toggle(u))))));
    } catch (e) { fail(msg, e); }
  }
  box.appendChild(h('h3', null, 'Users (server admin)'));
  box.appendChild(h('form', { class: 'toolbar', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const u = await api('/users', { method: 'POST', body: { name: name.value.trim() } });
      clear(link);
      link.appendChild(h('p', null, 'Send this one-time link (valid 24 h) to ', u.name, ': ',
        h('input', { type: 'text', readonly: true, size: 60, value: location.origin + u.setup_path, id: 'setup-link-value' })));
      name.value = '';
      load();
    } catch (e) { fail(msg, e); }
  } }, name, h('button', { type: 'submit', id: 'user-create' }, 'Create user')));
  box.appendChild(link);
  box.appendChild(list);
  box.appendChild(msg);
  load();
  return box;
}

export async function renderProjectSettings(root, entity, project) {
  const base = `/projects/${enc(entity)}/${enc(project)}`;
  setCrumbs([['projects', '/'], [`${entity}/${project}`, `/${enc(entity)}/${enc(project)}`], ['settings']]);
  const p = await api(base);
  const msg = status('visibility-msg');
  const sel = h('select', { id: 'visibility' }, ['private', 'public'].map((v) => h('option', { value: v }, v)));
  sel.value = p.visibility;
  sel.disabled = p.role !== 'admin';
  sel.addEventListener('change', async () => {
    try {
      const r = await api(base, { method: 'PUT', body: { visibility: sel.value } });
      say(msg, r.visibility === 'public' ? 'Public: anyone with the link can read it, signed in or not.' : 'Private: members only.');
    } catch (e) { fail(msg, e); sel.value = p.visibility; }
  });
  root.appendChild(h('div', { class: 'page-head' }, h('h1', null, `${project} settings`),
    h('span', { class: 'muted small' }, `your role: ${p.role || 'reader'}`)));
  root.appendChild(h('div', { class: 'cards' },
    h('div', { class: 'card' }, h('h3', null, 'Visibility'), h('label', null, 'Who can read it ', sel), msg),
    p.role === 'admin' ? membersCard('project-members', `${base}/members`, 'Members') : null));
  root.appendChild(h('h2', { id: 'notifications' }, 'Notifications'));
  root.appendChild(h('div', { class: 'cards notify' }, notificationCards(entity, project, p.role)));
}
