// runs_table.js — the rows of the runs table: sortable headers (a click
// sorts on the server), one row per run with its shown columns, and the
// select-page box.
import { h, clear, valueText, fmtTime, fmtDuration, runDuration, stateBadge } from './dom.js';
import { enc } from './api.js';
import { fieldValue } from './runs_query.js';

const SORTABLE = new Set(['name', 'state', 'user', 'created_at', 'duration', 'tags', 'notes']);

// view: { base, params, apply(resetPage), sel (runs_selection.js) } (project.js)
function headerCell(view, label, field) {
  const sort = view.params.get('sort') || '-created_at';
  const sortable = field && (SORTABLE.has(field) || field.startsWith('config.') || field.startsWith('summary.'));
  let arrow = '';
  if (sort === field) arrow = ' ▲';
  else if (sort === `-${field}`) arrow = ' ▼';
  if (!sortable) return h('th', null, label);
  return h('th', { class: 'sortable', dataset: { field }, onclick: () => {
    view.params.set('sort', sort === `-${field}` ? field : `-${field}`);
    view.apply();
  } }, label, arrow);
}

export function headRow(view, cols, first) {
  const cell = (label, field) => headerCell(view, label, field);
  return h('tr', null, h('th', { class: 'sel' }, first), cell('name', 'name'), cell('state', 'state'),
    cell('user', 'user'), cell('created', 'created_at'), cell('duration', 'duration'),
    cell('tags', 'tags'), cell('notes', 'notes'), cols.map((c) => cell(c, c)));
}

export function runRow(view, r, cols) {
  const box = h('input', { type: 'checkbox', checked: view.sel.has(r.id),
    onchange: (ev) => view.sel.set([r.id], ev.target.checked) });
  return h('tr', { dataset: { run: r.id } },
    h('td', { class: 'sel' }, box),
    h('td', { class: 'name' }, h('a', { href: `${view.base}/runs/${enc(r.id)}` }, r.name)),
    h('td', null, stateBadge(r.state)),
    h('td', null, fieldValue(r, 'user') || ''),
    h('td', { class: 'nowrap' }, fmtTime(r.created_at)),
    h('td', { class: 'nowrap' }, fmtDuration(runDuration(r))),
    h('td', null, (r.tags || []).map((t) => h('span', { class: t === 'baseline' ? 'tag tag-baseline' : 'tag' }, t))),
    h('td', { class: 'notes', title: r.notes || '' }, r.notes || ''),
    cols.map((c) => {
      const v = fieldValue(r, c);
      return h('td', { class: typeof v === 'number' ? 'num' : '', dataset: { col: c } }, valueText(v));
    }));
}

// One page of runs into wrap.
export function renderTable(view, wrap, runs, cols) {
  const allBox = h('input', { type: 'checkbox', title: 'select page', onchange: (ev) => {
    view.sel.set(runs.map((r) => r.id), ev.target.checked);
    renderTable(view, wrap, runs, cols);
  } });
  const body = h('tbody');
  for (const r of runs) body.appendChild(runRow(view, r, cols));
  clear(wrap);
  wrap.appendChild(h('table', { class: 'grid runs', id: 'runs' }, h('thead', null, headRow(view, cols, allBox)), body));
  if (!runs.length) wrap.appendChild(h('p', { class: 'muted empty' }, 'No runs match.'));
}
