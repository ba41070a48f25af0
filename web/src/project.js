// project.js — the runs table of /<entity>/<project>: the page, its column
// and group-by choices, paging, and the load that ties the parts together.
//
// Paging, filtering and sorting happen on the server (one page of 50 rows
// per request), so a project with 10,000 runs renders as fast as one with
// 10. Grouping too: the server groups the matching runs and computes each
// group's count and the mean/min/max of the shown columns; a group row
// opens to its runs (a filtered page of their own). Every control writes its
// state into the query string:
//   q=text  state=finished  tag=baseline  f=config.lr>0.01 (repeatable)
//   sort=-summary.loss  page=2  cols=config.lr,summary.loss  group=config.optimizer
//   open=<group value> (repeatable: the groups shown opened)  sel=<run id>,<run id>
//
// The parts, each its own module, share one `view` object:
//   runs_query.js      URL state → the server's query (no DOM)
//   runs_filters.js    search, state, tag and expression filters
//   runs_table.js      headers, sorting, run rows
//   runs_groups.js     the grouped table
//   runs_selection.js  the selection and its bar (compare, tag)
import { h, clear, flatten } from './dom.js';
import { api, enc } from './api.js';
import { setQuery, setCrumbs } from './nav.js';
import { PAGE, listPath } from './runs_query.js';
import { runFilters } from './runs_filters.js';
import { renderTable } from './runs_table.js';
import { renderGroups } from './runs_groups.js';
import { runSelection } from './runs_selection.js';

const GROUP_FIELDS = ['state', 'tags', 'user', 'group', 'job_type'];

export async function renderProject(root, entity, project) {
  const base = `/${enc(entity)}/${enc(project)}`;
  setCrumbs([['projects', '/'], [`${entity}/${project}`]]);
  const params = new URLSearchParams(location.search);
  let alive = true;
  const view = {
    entity, project, base, params,
    alive: () => alive,
    apply: (resetPage = true) => {
      if (resetPage) params.delete('page');
      setQuery(params);
      load();
    },
    load: () => load(),
  };
  view.sel = runSelection(view);
  const filters = runFilters(view);

  const title = h('h1', null, project, h('span', { class: 'muted small' }, ` · ${entity} · `),
    h('a', { href: `${base}/artifacts`, id: 'artifacts-link', class: 'small' }, 'artifacts'));
  const count = h('span', { class: 'muted', id: 'run-count' });
  const groupSel = h('select', { id: 'group-by' });
  const colsBtn = h('button', { type: 'button', id: 'columns-btn' }, 'Columns');
  const colsPanel = h('div', { class: 'cols-panel hidden', id: 'columns-panel' });
  const tableWrap = h('div', { class: 'table-wrap' });
  const pager = h('div', { class: 'pager' });

  groupSel.addEventListener('change', () => {
    if (groupSel.value) params.set('group', groupSel.value); else params.delete('group');
    params.delete('open');
    view.apply();
  });
  colsBtn.addEventListener('click', () => colsPanel.classList.toggle('hidden'));

  root.appendChild(h('div', { class: 'page-head' }, title, count, h('span', { class: 'spacer' }),
    h('a', { href: `${base}/sweeps`, id: 'sweeps-link' }, 'Sweeps'), h('a', { href: `${base}/reports`, id: 'reports-link' }, 'Reports'),
    h('a', { href: `${base}/settings`, id: 'project-settings-link' }, 'Settings')));
  root.appendChild(h('div', { class: 'toolbar' }, filters.controls,
    h('span', { class: 'spacer' }), h('label', null, 'Group by ', groupSel), colsBtn));
  root.appendChild(colsPanel);
  root.appendChild(view.sel.bar);
  root.appendChild(tableWrap);
  root.appendChild(pager);

  let fields = { config: [], summary: [] };
  let loadSeq = 0;

  function columns() {
    const c = params.get('cols');
    if (c !== null) return c ? c.split(',') : [];
    return [...fields.config.slice(0, 6).map((k) => `config.${k}`), ...fields.summary.slice(0, 6).map((k) => `summary.${k}`)];
  }

  function renderColsPanel() {
    clear(colsPanel);
    const cur = new Set(columns());
    const all = [...fields.config.map((k) => `config.${k}`), ...fields.summary.map((k) => `summary.${k}`)];
    colsPanel.appendChild(h('div', { class: 'muted small' }, 'Columns from config and summary:'));
    for (const c of all) {
      colsPanel.appendChild(h('label', { class: 'colopt' }, h('input', { type: 'checkbox', checked: cur.has(c), onchange: (ev) => {
        const next = columns().filter((x) => x !== c);
        if (ev.target.checked) next.push(c);
        params.set('cols', next.join(','));
        view.apply(false);
      } }), ' ', c));
    }
  }

  function renderGroupSel() {
    const gsel = params.get('group') || '';
    clear(groupSel);
    groupSel.appendChild(h('option', { value: '' }, 'none'));
    const gfields = [...GROUP_FIELDS, ...fields.config.map((k) => `config.${k}`), ...fields.summary.map((k) => `summary.${k}`)];
    if (gsel && !gfields.includes(gsel)) gfields.push(gsel);
    for (const f of gfields) groupSel.appendChild(h('option', { value: f }, f));
    groupSel.value = gsel;
  }

  function tableError(e) {
    clear(tableWrap);
    tableWrap.appendChild(h('div', { class: 'error-box', id: 'table-error' }, e.message));
  }

  function renderPager(pageNo, nrows, what) {
    clear(pager);
    const pages = Math.max(1, Math.ceil(nrows / PAGE));
    const go = (n) => { if (n) params.set('page', String(n)); else params.delete('page'); view.apply(false); };
    pager.appendChild(h('button', { type: 'button', id: 'prev-page', disabled: pageNo === 0, onclick: () => go(pageNo - 1) }, '‹ Prev'));
    pager.appendChild(h('span', { class: 'muted', id: 'page-info' }, `page ${pageNo + 1} of ${pages}${what}`));
    pager.appendChild(h('button', { type: 'button', id: 'next-page', disabled: pageNo + 1 >= pages, onclick: () => go(pageNo + 1) }, 'Next ›'));
  }

  async function load() {
    const seq = ++loadSeq;
    const current = () => seq === loadSeq && alive;
    const pageNo = Math.max(0, parseInt(params.get('page') || '0', 10) || 0);
    const gsel = params.get('group') || '';
    let data;
    try {
      data = await api(listPath(entity, project, params, PAGE, gsel ? 0 : pageNo * PAGE));
    } catch (e) {
      // A filter the server rejects (e.g. a typo) is shown, not thrown.
      if (!current()) return;
      filters.renderChips();
      tableError(e);
      document.body.dataset.tableReady = location.search;
      return;
    }
    if (!current()) return;
    // Columns on offer: keys seen in this page (config flattened, summary as is).
    const cset = new Set(fields.config), sset = new Set(fields.summary);
    for (const r of data.runs) {
      for (const [k] of flatten(r.config)) cset.add(k);
      for (const k of Object.keys(r.summary || {})) if (!k.startsWith('_')) sset.add(k);
    }
    fields = { config: [...cset].sort(), summary: [...sset].sort() };
    count.textContent = `${data.total} run${data.total === 1 ? '' : 's'}`;
    count.dataset.total = String(data.total);
    renderGroupSel();
    filters.renderChips();
    renderColsPanel();
    view.sel.render();
    let nrows = data.total, what = '';
    if (gsel) {
      try {
        nrows = await renderGroups(view, tableWrap, gsel, columns(), pageNo);
      } catch (e) {
        if (!current()) return;
        tableError(e);
        nrows = 0;
      }
      if (!current()) return;
      what = ' groups';
    } else {
      renderTable(view, tableWrap, data.runs, columns());
    }
    renderPager(pageNo, nrows, what);
    root.dataset.loaded = String(seq);
    document.body.dataset.tableReady = location.search;
  }

  await load();
  return () => { alive = false; };
}
