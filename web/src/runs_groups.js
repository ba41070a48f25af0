// runs_groups.js — the runs table grouped: one row per group from the
// server (count, mean/min/max of the shown columns); a group row opens to
// its runs, a filtered page of their own (up to GROUP_RUNS, in the table's
// sort order). Opened groups are kept in the query (open=, repeatable).
import { h, clear, fmtNum, fmtDuration } from './dom.js';
import { api } from './api.js';
import { setQuery } from './nav.js';
import { listPath, groupFilter, aggCols, groupPath } from './runs_query.js';
import { headRow, runRow } from './runs_table.js';

const GROUP_RUNS = 100;

function aggCell(a, col) {
  if (!a || !a.count) return h('td', { class: 'num', dataset: { agg: col } }, '');
  const f = col === 'duration' ? fmtDuration : fmtNum;
  return h('td', { class: 'num', dataset: { agg: col }, title: `${a.count} numeric values` },
    `${f(a.mean)} (${f(a.min)} – ${f(a.max)})`);
}

// view: { entity, project, params, alive(), apply(resetPage), sel } (project.js).
// Renders page pageNo of the groups into wrap; answers the number of groups.
export async function renderGroups(view, wrap, field, cols, pageNo) {
  const { entity, project, params } = view;
  const data = await api(groupPath(entity, project, params, field, cols, pageNo));
  // columns with a number in some group of this page (text config values have none)
  const aggs = aggCols(cols).filter((c) => data.groups.some((g) => g.aggregates[c] && g.aggregates[c].count));
  const opened = new Set(params.getAll('open'));
  const head = h('tr', null, h('th', null, field), h('th', { class: 'num' }, 'runs'),
    aggs.map((c) => h('th', { class: 'num' }, `${c} mean (min – max)`)));
  const body = h('tbody');
  const rowsOf = new Map();

  const showRuns = async (g, key, row, open) => {
    for (const tr of rowsOf.get(key) || []) tr.remove();
    rowsOf.delete(key);
    row.classList.toggle('open', open);
    row.querySelector('.caret').textContent = open ? '▾' : '▸';
    if (!open) return;
    const f = groupFilter(field, g.value);
    const page = await api(listPath(entity, project, params, GROUP_RUNS, 0, [f]));
    if (!view.alive() || !opened.has(key)) return;
    const inner = h('table', { class: 'grid runs group-runs', dataset: { group: key } },
      h('thead', null, headRow(view, cols, '')), h('tbody', null, page.runs.map((r) => runRow(view, r, cols))));
    const more = page.total > page.runs.length
      ? h('p', { class: 'muted small' }, `First ${page.runs.length} of ${page.total} runs: `,
        h('a', { href: '#', onclick: (ev) => {
          ev.preventDefault();
          params.delete('group'); params.delete('open'); params.delete('page');
          params.append('f', f);
          view.apply();
        } }, 'show them all in the table'))
      : null;
    const tr = h('tr', { class: 'group-runs-row' }, h('td', { colspan: 2 + aggs.length }, inner, more));
    row.after(tr);
    rowsOf.set(key, [tr]);
    document.body.dataset.groupOpened = key;
  };
  const toggle = async (g, key, row) => {
    const open = !opened.has(key);
    if (open) opened.add(key); else opened.delete(key);
    params.delete('open');
    for (const k of opened) params.append('open', k);
    setQuery(params);
    await showRuns(g, key, row, open);
  };

  const pending = [];
  for (const g of data.groups) {
    const key = g.value === null ? '(none)' : String(g.value);
    const canOpen = groupFilter(field, g.value) !== null;
    const row = h('tr', { class: 'group-row', dataset: { group: key, count: String(g.count) } },
      h('td', { class: 'group-name' },
        h('button', { type: 'button', class: 'caret', disabled: !canOpen,
          title: canOpen ? 'show the runs of this group' : 'runs without a value cannot be listed by a filter',
          onclick: () => toggle(g, key, row) }, '▸'), ' ', key),
      h('td', { class: 'num' }, String(g.count)),
      aggs.map((c) => aggCell(g.aggregates[c], c)));
    body.appendChild(row);
    if (canOpen && opened.has(key)) pending.push([g, key, row]);
  }
  clear(wrap);
  wrap.appendChild(h('table', { class: 'grid groups', id: 'groups', dataset: { totalGroups: String(data.total_groups) } },
    h('thead', null, head), body));
  if (!data.groups.length) wrap.appendChild(h('p', { class: 'muted empty' }, 'No runs match.'));
  await Promise.all(pending.map(([g, key, row]) => showRuns(g, key, row, true)));
  return data.total_groups;
}
