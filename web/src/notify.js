// notify.js — notifications in the settings pages (schema/api.md,
// "Notifications"): the Slack incoming webhooks of a project or of the
// signed-in user, a project's rules, and its delivery log.
//
// A webhook's URL is a secret the server never answers with: the page
// sends it once (POST), then forgets it, and lists webhooks by the
// server's hint (host…last four characters). The server decides who may do
// what — webhooks and the delivery log are the project admins', rules are
// changed by editors and read by every reader — so the page offers only
// the controls the role allows, and shows the server's refusal (a 403
// after a role change, say) in the card's status line instead of breaking.
//
// Every user string (rules, run names, errors) goes in through dom.js.
import { h, clear, fmtTime } from './dom.js';
import { api, enc } from './api.js';
import { status, fail, say, table } from './forms.js';

const EVENTS = ['finished', 'failed', 'crashed', 'alert', 'rule'];
const DELIVERIES_SHOWN = 100;
// A delivery's state shown with the badge colour of the run state it resembles.
const STATE_BADGE = { delivered: 'finished', pending: 'running', failed: 'failed', cancelled: 'unknown' };

function when(unix) {
  return unix ? h('span', { title: new Date(unix * 1000).toISOString() }, fmtTime(unix)) : '';
}

// Webhooks at path (a project's, or /user/webhooks): list, add, delete.
export function webhooksCard(id, path, title, note) {
  const box = h('div', { class: 'card webhooks', id });
  const msg = status(`${id}-msg`);
  const list = h('div');
  const url = h('input', { type: 'text', class: 'webhook-url', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'https://hooks.slack.com/services/…', 'aria-label': 'webhook URL' });
  const events = EVENTS.map((ev) => h('input', { type: 'checkbox', name: 'event', value: ev, checked: true }));
  const form = h('form', { class: 'add-webhook', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const w = await api(path, { method: 'POST', body: { url: url.value.trim(), events: events.filter((c) => c.checked).map((c) => c.value) } });
      url.value = '';
      say(msg, `Added ${w.hint}.`);
      load();
    } catch (e) { fail(msg, e); }
  } },
  h('p', null, url),
  h('p', { class: 'toolbar' }, events.map((c) => h('label', null, c, ' ', c.value)), h('button', { type: 'submit' }, 'Add webhook')));
  async function load() {
    let hooks;
    try {
      hooks = (await api(path)).webhooks;
    } catch (e) {
      clear(list);
      form.hidden = true;
      fail(msg, e);
      return;
    }
    clear(list);
    list.appendChild(hooks.length ? table(`${id}-table`, ['webhook', 'events', 'created', ''], hooks.map((w) => h('tr', { dataset: { id: String(w.id) } },
      h('td', null, h('code', null, w.hint)), h('td', null, w.events.join(', ')), h('td', null, when(w.created_at)),
      h('td', null, h('button', { type: 'button', class: 'delete-webhook', onclick: async () => {
        try { await api(`${path}/${enc(String(w.id))}`, { method: 'DELETE' }); say(msg, `Deleted ${w.hint}.`); load(); } catch (e) { fail(msg, e); }
      } }, 'Delete')))))
      : h('p', { class: 'muted' }, 'No webhooks.'));
  }
  box.append(h('h3', null, title), h('p', { class: 'muted' }, note), form, list, msg);
  load();
  return box;
}

// A project's rules; canEdit: the add form and delete buttons (editors and admins).
function rulesCard(base, canEdit) {
  const box = h('div', { class: 'card', id: 'rules' });
  const msg = status('rules-msg');
  const list = h('div');
  const text = h('input', { type: 'text', id: 'rule-text', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'summary val/loss > 2, or no step for 15 min', 'aria-label': 'rule' });
  async function load() {
    let rules;
    try {
      rules = (await api(`${base}/rules`)).rules;
    } catch (e) {
      clear(list);
      fail(msg, e);
      return;
    }
    clear(list);
    list.appendChild(rules.length ? table('rules-table', ['rule', 'fired', 'created', ''], rules.map((r) => h('tr', { dataset: { id: String(r.id) } },
      h('td', { class: 'rule' }, h('code', null, r.rule)), h('td', { class: 'num', title: 'runs it fired for' }, String(r.fired)), h('td', null, when(r.created_at)),
      h('td', null, canEdit ? h('button', { type: 'button', class: 'delete-rule', onclick: async () => {
        try { await api(`${base}/rules/${enc(String(r.id))}`, { method: 'DELETE' }); say(msg, 'Rule deleted.'); load(); } catch (e) { fail(msg, e); }
      } }, 'Delete') : null))))
      : h('p', { class: 'muted' }, 'No rules.'));
  }
  box.append(h('h3', null, 'Rules'),
    h('p', { class: 'muted' }, 'A rule sends the "rule" event to the webhooks once per run: ',
      h('code', null, 'summary KEY OP NUMBER'), ' (OP one of > >= < <= == !=) or ', h('code', null, 'no step for N s|min|h'), '.'));
  if (canEdit) {
    box.appendChild(h('form', { class: 'toolbar', id: 'add-rule', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        const r = await api(`${base}/rules`, { method: 'POST', body: { rule: text.value.trim() } });
        text.value = '';
        say(msg, `Added: ${r.rule}`);
        load();
      } catch (e) { fail(msg, e); }
    } }, text, h('button', { type: 'submit' }, 'Add rule')));
  } else {
    box.appendChild(h('p', { class: 'muted', id: 'rules-readonly' }, 'Editors and admins of the project add and delete rules.'));
  }
  box.append(list, msg);
  load();
  return box;
}

function deliveriesCard(entity, project, base) {
  const box = h('div', { class: 'card', id: 'deliveries' });
  const msg = status('deliveries-msg');
  const list = h('div');
  async function load() {
    let rows;
    try {
      rows = (await api(`${base}/deliveries?limit=${DELIVERIES_SHOWN}`)).deliveries;
    } catch (e) {
      clear(list);
      fail(msg, e);
      return;
    }
    clear(list);
    say(msg, '');
    list.appendChild(rows.length ? table('deliveries-table', ['time', 'event', 'run', 'status', 'attempts', 'error'], rows.map((d) => h('tr', { dataset: { id: String(d.id), state: d.state } },
      h('td', null, when(d.created_at)),
      h('td', null, d.event),
      h('td', { class: 'name' }, h('a', { href: `/${enc(entity)}/${enc(project)}/runs/${enc(d.run_id)}` }, d.run_name || d.run_id)),
      h('td', null, h('span', { class: `badge state-${STATE_BADGE[d.state] || 'unknown'}` }, d.state),
        d.http_status ? ` http ${d.http_status}` : '', d.state === 'pending' && d.next_at ? h('span', { class: 'muted' }, ' next ', when(d.next_at)) : ''),
      h('td', { class: 'num' }, String(d.attempts)),
      h('td', { class: 'error' }, d.error || ''))))
      : h('p', { class: 'muted' }, 'Nothing sent yet.'));
  }
  box.append(h('h3', null, 'Delivery log'),
    h('p', { class: 'toolbar' }, h('span', { class: 'muted' }, `The last ${DELIVERIES_SHOWN} messages to the webhooks, newest first.`),
      h('button', { type: 'button', id: 'deliveries-refresh', onclick: load }, 'Refresh')),
    list, msg);
  load();
  return box;
}

// The Notifications cards of the project settings page for a reader of the given role.
export function notificationCards(entity, project, role) {
  const base = `/projects/${enc(entity)}/${enc(project)}`;
  const admin = role === 'admin';
  return [
    admin ? webhooksCard('project-webhooks', `${base}/webhooks`, 'Webhooks',
      'Slack incoming webhooks told when a run of this project finishes, fails or crashes, raises an alert or fires a rule. The URL is a secret: it is never shown again.')
      : h('div', { class: 'card', id: 'project-webhooks' }, h('h3', null, 'Webhooks'),
        h('p', { class: 'muted', id: 'project-webhooks-msg' }, 'Project admins manage the webhooks and see the delivery log.')),
    rulesCard(base, admin || role === 'editor'),
    admin ? deliveriesCard(entity, project, base) : null,
  ];
}
