// project.js — the runs table of /<entity>/<project>.
//
// Paging, filtering and sorting happen on the server (one page of 50 rows
// per request), so a project with 10,000 runs renders as fast as one with
// 10. Grouping too: the server groups the matching runs and computes each
// group's count and the mean/min/max of the shown columns; a group row
// opens to its runs (a filtered page of their own). Every control writes its
// state into the query string:
//   q=text  state=finished  tag=baseline  f=config.lr>0.01 (repeatable)
//   sort=-summary.loss  page=2  cols=config.lr,summary.loss  group=config.optimizer
//   open=<group value> (repeatable: the groups shown opened)
import { h, clear, valueText, fmtTime, fmtDuration, runDuration, stateBadge, flatten, getPath, fmtNum } from './dom.js';
import { api, enc } from './api.js';
import { setQuery, setCrumbs } from './main.js';

const PAGE = 50;
const SORTABLE = new Set(['name', 'state', 'user', 'created_at', 'duration', 'tags', 'notes']);
const GROUP_FIELDS = ['state', 'tags', 'user', 'group', 'job_type'];

function fieldValue(r, field) {
  if (field.startsWith('config.')) return getPath(r.config, field.slice(7));
  if (field.startsWith('summary.')) {
    const v = r.summary ? r.summary[field.slice(8)] : undefined;
    return v && typeof v === 'object' && 'last' in v ? v.last : v;
  }
  if (field === 'tags') return (r.tags || []).join(', ');
  if (field === 'user') return (r.metadata || {}).user;
  return r[field];
}

function filtersOf(params) {
  const f = [];
  if (params.get('q')) f.push(`name~${params.get('q')}`);
  if (params.get('state')) f.push(`state=${params.get('state')}`);
  if (params.get('tag')) f.push(`tags=${params.get('tag')}`);
  for (const x of params.getAll('f')) if (x) f.push(x);
  return f;
}

function listPath(e, p, params, limit, offset, extra = []) {
  const qs = new URLSearchParams();
  for (const f of [...filtersOf(params), ...extra]) qs.append('filter', f);
  qs.set('sort', params.get('sort') || '-created_at');
  qs.set('limit', String(limit));
  qs.set('offset', String(offset));
  return `/projects/${enc(e)}/${enc(p)}/runs?${qs}`;
}

export async function renderProject(root, entity, project) {
  const base = `/${enc(entity)}/${enc(project)}`;
  setCrumbs([['projects', '/'], [`${entity}/${project}`]]);
  const params = new URLSearchParams(location.search);
  // The selection lives in the URL (sel=id,id), so it survives a reload,
  // Back and a shared link.
  const selected = new Set((params.get('sel') || '').split(',').filter(Boolean));
  const saveSel = () => {
    if (selected.size) params.set('sel', [...selected].join(',')); else params.delete('sel');
    setQuery(params);
  };
  let alive = true;

  const title = h('h1', null, project, h('span', { class: 'muted small' }, ` · ${entity} · `),
    h('a', { href: `${base}/artifacts`, id: 'artifacts-link', class: 'small' }, 'artifacts'));
  const count = h('span', { class: 'muted', id: 'run-count' });
  const search = h('input', { type: 'search', id: 'search', placeholder: 'Search run names', value: params.get('q') || '' });
  const stateSel = h('select', { id: 'state-filter' }, ['', 'running', 'finished', 'failed', 'crashed'].map((s) =>
    h('option', { value: s }, s || 'any state')));
  stateSel.value = params.get('state') || '';
  const tagIn = h('input', { type: 'text', id: 'tag-filter', placeholder: 'tag', size: 10, value: params.get('tag') || '' });
  const fIn = h('input', { type: 'text', id: 'expr-filter', placeholder: 'filter, e.g. config.lr>0.01 or summary.loss<0.3', size: 34 });
  const chips = h('span', { class: 'chips' });
  const groupSel = h('select', { id: 'group-by' });
  const colsBtn = h('button', { type: 'button', id: 'columns-btn' }, 'Columns');
  const colsPanel = h('div', { class: 'cols-panel hidden', id: 'columns-panel' });
  const selBar = h('div', { class: 'selbar' });
  const tableWrap = h('div', { class: 'table-wrap' });
  const pager = h('div', { class: 'pager' });

  const apply = (resetPage = true) => {
    if (resetPage) params.delete('page');
    setQuery(params);
    load();
  };
  const setParam = (k, v) => { if (v) params.set(k, v); else params.delete(k); };
  let searchTimer = null;
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { setParam('q', search.value.trim()); apply(); }, 200);
  });
  stateSel.addEventListener('change', () => { setParam('state', stateSel.value); apply(); });
  tagIn.addEventListener('change', () => { setParam('tag', tagIn.value.trim()); apply(); });
  fIn.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter' || !fIn.value.trim()) return;
    params.append('f', fIn.value.trim());
    fIn.value = '';
    apply();
  });
  groupSel.addEventListener('change', () => { setParam('group', groupSel.value); params.delete('open'); apply(); });
  colsBtn.addEventListener('click', () => colsPanel.classList.toggle('hidden'));

  root.appendChild(h('div', { class: 'page-head' }, title, count, h('span', { class: 'spacer' }),
    h('a', { href: `${base}/reports`, id: 'reports-link' }, 'Reports'), h('a', { href: `${base}/settings`, id: 'project-settings-link' }, 'Settings')));
  root.appendChild(h('div', { class: 'toolbar' }, search, stateSel, tagIn, fIn, chips,
    h('span', { class: 'spacer' }), h('label', null, 'Group by ', groupSel), colsBtn));
  root.appendChild(colsPanel);
  root.appendChild(selBar);
  root.appendChild(tableWrap);
  root.appendChild(pager);

  let fields = { config: [], summary: [] };
  let loadSeq = 0;

  function columns() {
    const c = params.get('cols');
    if (c !== null) return c ? c.split(',') : [];
    return [...fields.config.slice(0, 6).map((k) => `config.${k}`), ...fields.summary.slice(0, 6).map((k) => `summary.${k}`)];
  }

  function renderChips() {
    clear(chips);
    params.getAll('f').forEach((f, i) => {
      chips.appendChild(h('span', { class: 'chip' }, f, h('button', { type: 'button', title: 'remove filter', onclick: () => {
        const all = params.getAll('f');
        all.splice(i, 1);
        params.delete('f');
        all.forEach((x) => params.append('f', x));
        apply();
      } }, '×')));
    });
  }

  function renderSelBar() {
    clear(selBar);
    if (!selected.size) return;
    const tagName = h('input', { type: 'text', placeholder: 'tag', size: 10, id: 'tag-name' });
    const tagRuns = async (tag) => {
      if (!tag) return;
      for (const id of selected) {
        const r = await api(`/projects/${enc(entity)}/${enc(project)}/runs/${enc(id)}`);
        const tags = r.tags.includes(tag) ? r.tags : [...r.tags, tag];
        await api(`/projects/${enc(entity)}/${enc(project)}/runs/${enc(id)}`, { method: 'PATCH', body: { tags } });
      }
      load();
    };
    selBar.appendChild(h('div', { class: 'selbar-inner' },
      h('strong', null, `${selected.size} selected`),
      h('a', { class: 'button primary', id: 'compare-btn', href: `${base}/compare?runs=${[...selected].map(enc).join(',')}` }, 'Compare'),
      h('button', { type: 'button', id: 'mark-baseline', onclick: () => tagRuns('baseline') }, 'Mark as baseline'),
      tagName, h('button', { type: 'button', onclick: () => tagRuns(tagName.value.trim()) }, 'Add tag'),
      h('button', { type: 'button', onclick: () => { selected.clear(); saveSel(); load(); } }, 'Clear')));
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
        apply(false);
      } }), ' ', c));
    }
  }

  function headerCell(label, field) {
    const sort = params.get('sort') || '-created_at';
    const sortable = field && (SORTABLE.has(field) || field.startsWith('config.') || field.startsWith('summary.'));
    let arrow = '';
    if (sort === field) arrow = ' ▲';
    else if (sort === `-${field}`) arrow = ' ▼';
    if (!sortable) return h('th', null, label);
    return h('th', { class: 'sortable', dataset: { field }, onclick: () => {
      params.set('sort', sort === `-${field}` ? field : `-${field}`);
      apply();
    } }, label, arrow);
  }

  function headRow(cols, first) {
    return h('tr', null, h('th', { class: 'sel' }, first), headerCell('name', 'name'), headerCell('state', 'state'),
      headerCell('user', 'user'), headerCell('created', 'created_at'), headerCell('duration', 'duration'),
      headerCell('tags', 'tags'), headerCell('notes', 'notes'), cols.map((c) => headerCell(c, c)));
  }

  function runRow(r, cols) {
    const box = h('input', { type: 'checkbox', checked: selected.has(r.id), onchange: (ev) => {
      if (ev.target.checked) selected.add(r.id); else selected.delete(r.id);
      saveSel();
      renderSelBar();
    } });
    return h('tr', { dataset: { run: r.id } },
      h('td', { class: 'sel' }, box),
      h('td', { class: 'name' }, h('a', { href: `${base}/runs/${enc(r.id)}` }, r.name)),
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

  function renderTable(runs, cols) {
    const allBox = h('input', { type: 'checkbox', title: 'select page', onchange: (ev) => {
      for (const r of runs) { if (ev.target.checked) selected.add(r.id); else selected.delete(r.id); }
      saveSel();
      renderTable(runs, cols);
      renderSelBar();
    } });
    const body = h('tbody');
    for (const r of runs) body.appendChild(runRow(r, cols));
    clear(tableWrap);
    tableWrap.appendChild(h('table', { class: 'grid runs', id: 'runs' }, h('thead', null, headRow(cols, allBox)), body));
    if (!runs.length) tableWrap.appendChild(h('p', { class: 'muted empty' }, 'No runs match.'));
  }

  // The filter that selects one group's runs; null: the no-value group, which no filter selects.
  function groupFilter(field, v) {
    if (v === null || v === undefined) return null;
    return `${field}=${typeof v === 'number' ? String(v) : v}`;
  }

  // Aggregated columns: the shown config/summary columns (any key; the
  // server quotes it), and duration.
  const aggCols = (cols) => [...cols.filter((c) => c.startsWith('config.') || c.startsWith('summary.')),
    'duration'].slice(0, 16);

  function groupPath(field, cols, pageNo) {
    const qs = new URLSearchParams();
    for (const f of filtersOf(params)) qs.append('filter', f);
    qs.set('group_by', field);
    for (const c of aggCols(cols)) qs.append('agg', c);
    qs.set('limit', String(PAGE));
    qs.set('offset', String(pageNo * PAGE));
    return `/projects/${enc(entity)}/${enc(project)}/runs?${qs}`;
  }

  function aggCell(a, col) {
    if (!a || !a.count) return h('td', { class: 'num', dataset: { agg: col } }, '');
    const f = col === 'duration' ? fmtDuration : fmtNum;
    return h('td', { class: 'num', dataset: { agg: col }, title: `${a.count} numeric values` },
      `${f(a.mean)} (${f(a.min)} – ${f(a.max)})`);
  }

  // Grouped view: one row per group from the server; opening a group
  // fetches its runs (up to GROUP_RUNS, in the table's sort order).
  async function renderGroups(field, cols, pageNo) {
    const GROUP_RUNS = 100;
    const data = await api(groupPath(field, cols, pageNo));
    // columns with a number in some group of this page (text config values have none)
    const aggs = aggCols(cols).filter((c) => data.groups.some((g) => g.aggregates[c] && g.aggregates[c].count));
    const opened = new Set(params.getAll('open'));
    const head = h('tr', null, h('th', null, field), h('th', { class: 'num' }, 'runs'),
      aggs.map((c) => h('th', { class: 'num' }, `${c} mean (min – max)`)));
    const body = h('tbody');
    const rowsOf = new Map();
    const toggle = async (g, key, row) => {
      const open = !opened.has(key);
      if (open) opened.add(key); else opened.delete(key);
      params.delete('open');
      for (const k of opened) params.append('open', k);
      setQuery(params);
      await showRuns(g, key, row, open);
    };
    const showRuns = async (g, key, row, open) => {
      for (const tr of rowsOf.get(key) || []) tr.remove();
      rowsOf.delete(key);
      row.classList.toggle('open', open);
      row.querySelector('.caret').textContent = open ? '▾' : '▸';
      if (!open) return;
      const f = groupFilter(field, g.value);
      const page = await api(listPath(entity, project, params, GROUP_RUNS, 0, [f]));
      if (!alive || !opened.has(key)) return;
      const inner = h('table', { class: 'grid runs group-runs', dataset: { group: key } },
        h('thead', null, headRow(cols, '')), h('tbody', null, page.runs.map((r) => runRow(r, cols))));
      const more = page.total > page.runs.length
        ? h('p', { class: 'muted small' }, `First ${page.runs.length} of ${page.total} runs: `,
          h('a', { href: '#', onclick: (ev) => {
            ev.preventDefault();
            params.delete('group'); params.delete('open'); params.delete('page');
            params.append('f', f);
            apply();
          } }, 'show them all in the table'))
        : null;
      const tr = h('tr', { class: 'group-runs-row' }, h('td', { colspan: 2 + aggs.length }, inner, more));
      row.after(tr);
      rowsOf.set(key, [tr]);
      document.body.dataset.groupOpened = key;
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
    clear(tableWrap);
    tableWrap.appendChild(h('table', { class: 'grid groups', id: 'groups', dataset: { totalGroups: String(data.total_groups) } },
      h('thead', null, head), body));
    if (!data.groups.length) tableWrap.appendChild(h('p', { class: 'muted empty' }, 'No runs match.'));
    await Promise.all(pending.map(([g, key, row]) => showRuns(g, key, row, true)));
    return data.total_groups;
  }

  async function load() {
    const seq = ++loadSeq;
    const pageNo = Math.max(0, parseInt(params.get('page') || '0', 10) || 0);
    let data;
    try {
      data = await api(listPath(entity, project, params, PAGE, params.get('group') ? 0 : pageNo * PAGE));
    } catch (e) {
      // A filter the server rejects (e.g. a typo) is shown, not thrown.
      if (seq !== loadSeq || !alive) return;
      renderChips();
      clear(tableWrap);
      tableWrap.appendChild(h('div', { class: 'error-box', id: 'table-error' }, e.message));
      document.body.dataset.tableReady = location.search;
      return;
    }
    if (seq !== loadSeq || !alive) return;
    // Columns on offer: keys seen in this page (config flattened, summary as is).
    const cset = new Set(fields.config), sset = new Set(fields.summary);
    for (const r of data.runs) {
      for (const [k] of flatten(r.config)) cset.add(k);
      for (const k of Object.keys(r.summary || {})) if (!k.startsWith('_')) sset.add(k);
    }
    fields = { config: [...cset].sort(), summary: [...sset].sort() };
    count.textContent = `${data.total} run${data.total === 1 ? '' : 's'}`;
    count.dataset.total = String(data.total);
    const gsel = params.get('group') || '';
    clear(groupSel);
    groupSel.appendChild(h('option', { value: '' }, 'none'));
    const gfields = [...GROUP_FIELDS, ...fields.config.map((k) => `config.${k}`), ...fields.summary.map((k) => `summary.${k}`)];
    if (gsel && !gfields.includes(gsel)) gfields.push(gsel);
    for (const f of gfields) groupSel.appendChild(h('option', { value: f }, f));
    groupSel.value = gsel;
    renderChips();
    renderColsPanel();
    renderSelBar();
    let nrows = data.total, what = '';
    if (gsel) {
      try {
        nrows = await renderGroups(gsel, columns(), pageNo);
      } catch (e) {
        if (seq !== loadSeq || !alive) return;
        clear(tableWrap);
        tableWrap.appendChild(h('div', { class: 'error-box', id: 'table-error' }, e.message));
        nrows = 0;
      }
      if (seq !== loadSeq || !alive) return;
      what = ' groups';
    } else {
      renderTable(data.runs, columns());
    }
    clear(pager);
    const pages = Math.max(1, Math.ceil(nrows / PAGE));
    const go = (n) => { if (n) params.set('page', String(n)); else params.delete('page'); apply(false); };
    pager.appendChild(h('button', { type: 'button', id: 'prev-page', disabled: pageNo === 0, onclick: () => go(pageNo - 1) }, '‹ Prev'));
    pager.appendChild(h('span', { class: 'muted', id: 'page-info' }, `page ${pageNo + 1} of ${pages}${what}`));
    pager.appendChild(h('button', { type: 'button', id: 'next-page', disabled: pageNo + 1 >= pages, onclick: () => go(pageNo + 1) }, 'Next ›'));
    root.dataset.loaded = String(seq);
    document.body.dataset.tableReady = location.search;
  }

  await load();
  return () => { alive = false; };
}
