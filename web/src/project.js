// project.js — the runs table of /<entity>/<project>.
//
// Paging, filtering and sorting happen on the server (one page of 50 rows
// per request), so a project with 10,000 runs renders as fast as one with
// 10. Every control writes its state into the query string:
//   q=text  state=finished  tag=baseline  f=config.lr>0.01 (repeatable)
//   sort=-summary.loss  page=2  cols=config.lr,summary.loss  group=config.optimizer
import { h, clear, fmtValue, fmtTime, fmtDuration, runDuration, stateBadge, flatten, getPath, fmtNum } from './dom.js';
import { api, enc } from './api.js';
import { setQuery, setCrumbs } from './main.js';

const PAGE = 50;
const SORTABLE = new Set(['name', 'state', 'created_at']);

function fieldValue(r, field) {
  if (field.startsWith('config.')) return getPath(r.config, field.slice(7));
  if (field.startsWith('summary.')) {
    const v = r.summary ? r.summary[field.slice(8)] : undefined;
    return v && typeof v === 'object' && 'last' in v ? v.last : v;
  }
  if (field === 'tags') return (r.tags || []).join(', ');
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

function listPath(e, p, params, limit, offset) {
  const qs = new URLSearchParams();
  for (const f of filtersOf(params)) qs.append('filter', f);
  qs.set('sort', params.get('sort') || '-created_at');
  qs.set('limit', String(limit));
  qs.set('offset', String(offset));
  return `/projects/${enc(e)}/${enc(p)}/runs?${qs}`;
}

export async function renderProject(root, entity, project) {
  const base = `/${enc(entity)}/${enc(project)}`;
  setCrumbs([['projects', '/'], [`${entity}/${project}`]]);
  const params = new URLSearchParams(location.search);
  const selected = new Set();
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
  groupSel.addEventListener('change', () => { setParam('group', groupSel.value); apply(false); });
  colsBtn.addEventListener('click', () => colsPanel.classList.toggle('hidden'));

  root.appendChild(h('div', { class: 'page-head' }, title, count));
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
      h('button', { type: 'button', onclick: () => { selected.clear(); load(); } }, 'Clear')));
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
    return h('th', { class: 'sortable', dataset: { field } , onclick: () => {
      params.set('sort', sort === `-${field}` ? field : `-${field}`);
      apply();
    } }, label, arrow);
  }

  function renderTable(runs, cols) {
    const allBox = h('input', { type: 'checkbox', title: 'select page', onchange: (ev) => {
      for (const r of runs) { if (ev.target.checked) selected.add(r.id); else selected.delete(r.id); }
      renderTable(runs, cols);
      renderSelBar();
    } });
    const head = h('tr', null, h('th', { class: 'sel' }, allBox), headerCell('name', 'name'), headerCell('state', 'state'),
      headerCell('created', 'created_at'), h('th', null, 'duration'), h('th', null, 'tags'), h('th', null, 'notes'),
      cols.map((c) => headerCell(c, c)));
    const body = h('tbody');
    for (const r of runs) {
      const box = h('input', { type: 'checkbox', checked: selected.has(r.id), onchange: (ev) => {
        if (ev.target.checked) selected.add(r.id); else selected.delete(r.id);
        renderSelBar();
      } });
      body.appendChild(h('tr', { dataset: { run: r.id } },
        h('td', { class: 'sel' }, box),
        h('td', { class: 'name' }, h('a', { href: `${base}/runs/${enc(r.id)}` }, r.name)),
        h('td', null, stateBadge(r.state)),
        h('td', { class: 'nowrap' }, fmtTime(r.created_at)),
        h('td', { class: 'nowrap' }, fmtDuration(runDuration(r))),
        h('td', null, (r.tags || []).map((t) => h('span', { class: t === 'baseline' ? 'tag tag-baseline' : 'tag' }, t))),
        h('td', { class: 'notes', title: r.notes || '' }, r.notes || ''),
        cols.map((c) => {
          const v = fieldValue(r, c);
          return h('td', { class: typeof v === 'number' ? 'num' : '', dataset: { col: c } }, fmtValue(v));
        })));
    }
    clear(tableWrap);
    tableWrap.appendChild(h('table', { class: 'grid runs', id: 'runs' }, h('thead', null, head), body));
    if (!runs.length) tableWrap.appendChild(h('p', { class: 'muted empty' }, 'No runs match.'));
  }

  async function renderGroups(field, total) {
    // Group-by needs every matching run: fetch them in pages of 1,000.
    const runs = [];
    for (let off = 0; off < total && alive; off += 1000) {
      const page = await api(listPath(entity, project, params, 1000, off));
      runs.push(...page.runs);
      if (!page.runs.length) break;
    }
    const groups = new Map();
    for (const r of runs) {
      const v = fieldValue(r, field);
      const k = v === undefined || v === null ? '(none)' : fmtValue(v);
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push(r);
    }
    const metrics = fields.summary.slice(0, 8);
    const head = h('tr', null, h('th', null, field), h('th', { class: 'num' }, 'runs'),
      metrics.map((m) => h('th', { class: 'num' }, `summary.${m} mean (min – max)`)));
    const body = h('tbody');
    for (const [k, rs] of [...groups.entries()].sort((a, b) => a[0].localeCompare(b[0], undefined, { numeric: true }))) {
      body.appendChild(h('tr', { class: 'group-row', dataset: { group: k } },
        h('td', null, h('a', { href: '#', onclick: (ev) => {
          ev.preventDefault();
          params.delete('group');
          if (k !== '(none)') params.append('f', `${field}=${k}`);
          apply();
        } }, k)),
        h('td', { class: 'num' }, String(rs.length)),
        metrics.map((m) => {
          const vs = rs.map((r) => fieldValue(r, `summary.${m}`)).filter((v) => typeof v === 'number' && Number.isFinite(v));
          if (!vs.length) return h('td', null, '');
          const mean = vs.reduce((a, b) => a + b, 0) / vs.length;
          return h('td', { class: 'num' }, `${fmtNum(mean)} (${fmtNum(Math.min(...vs))} – ${fmtNum(Math.max(...vs))})`);
        })));
    }
    clear(tableWrap);
    tableWrap.appendChild(h('table', { class: 'grid groups', id: 'groups' }, h('thead', null, head), body));
  }

  async function load() {
    const seq = ++loadSeq;
    const pageNo = Math.max(0, parseInt(params.get('page') || '0', 10) || 0);
    let data;
    try {
      data = await api(listPath(entity, project, params, PAGE, pageNo * PAGE));
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
    for (const f of ['state', 'tags', ...fields.config.map((k) => `config.${k}`)]) groupSel.appendChild(h('option', { value: f }, f));
    groupSel.value = gsel;
    renderChips();
    renderColsPanel();
    renderSelBar();
    clear(pager);
    if (gsel) {
      await renderGroups(gsel, data.total);
    } else {
      renderTable(data.runs, columns());
      const pages = Math.max(1, Math.ceil(data.total / PAGE));
      const go = (n) => { if (n) params.set('page', String(n)); else params.delete('page'); apply(false); };
      pager.appendChild(h('button', { type: 'button', id: 'prev-page', disabled: pageNo === 0, onclick: () => go(pageNo - 1) }, '‹ Prev'));
      pager.appendChild(h('span', { class: 'muted', id: 'page-info' }, `page ${pageNo + 1} of ${pages}`));
      pager.appendChild(h('button', { type: 'button', id: 'next-page', disabled: pageNo + 1 >= pages, onclick: () => go(pageNo + 1) }, 'Next ›'));
    }
    root.dataset.loaded = String(seq);
    document.body.dataset.tableReady = location.search;
  }

  await load();
  return () => { alive = false; };
}
