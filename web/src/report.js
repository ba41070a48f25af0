// report.js — reports: markdown documents in a project with live panels.
//
//   /<e>/<p>/reports                 list, new report
//   /<e>/<p>/reports/<id>            the report (latest version), its permanent URL
//   /<e>/<p>/reports/<id>?v=N        version N
//   /<e>/<p>/reports/<id>?edit=1     editor (editors and admins of the project)
//   /<e>/<p>/reports/<id>?history=1  every version: who, when
//
// The text is rendered by markdown-it with raw HTML off, then sanitised by
// DOMPurify before it reaches the page: two independent locks, so neither a
// markdown-it bug nor a DOMPurify bug alone lets a report run script.
// Panels are fenced code blocks in the language "wb":
//
//   ```wb
//   chart: train/loss, val/loss     one chart per metric, one line per run
//   runs: r1, r2                    the runs by id ... or
//   filter: config.lr>0.01          ... the runs a filter selects (limit: N, default 10)
//   ```
//   ```wb
//   table                           a runs table: filter:, sort:, columns:, limit:
//   ```
//   ```wb
//   compare: r1, r2                 config and summary side by side, differences marked
//   ```
//
// The fence renders as an empty placeholder carrying only its index; the
// panel spec stays in JavaScript and is drawn from live data with dom.js
// (textContent) and chart.js, never as HTML.
import MarkdownIt from 'markdown-it';
import DOMPurify from 'dompurify';
import { h, clear, fmtTime, valueText, stateBadge, runColor, flatten, getPath } from './dom.js';
import { api, enc, ApiError } from './api.js';
import { Chart } from './chart.js';
import { navigate, setCrumbs } from './nav.js';

const PANEL_RUNS_MAX = 50;

// Parse a panel's lines ("key: value" or a bare type word).
export function parsePanel(text) {
  const spec = { type: null };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-z]+)\s*:\s*(.*)$/.exec(line);
    if (!m) { if (!spec.type) spec.type = line; continue; }
    const [, k, v] = m;
    if (k === 'chart' || k === 'compare') { spec.type = k; spec[k === 'chart' ? 'metrics' : 'runs'] = list(v); }
    else if (k === 'runs' || k === 'columns') spec[k] = list(v);
    else spec[k] = v.trim();
  }
  return spec;
}

const list = (v) => v.split(',').map((s) => s.trim()).filter(Boolean);

// Markdown → sanitised HTML string plus the panels' specs.
export function renderMarkdown(text) {
  const md = new MarkdownIt({ html: false, linkify: true, typographer: false });
  const panels = [];
  const fence = md.renderer.rules.fence;
  md.renderer.rules.fence = (tokens, idx, options, env, self) => {
    const t = tokens[idx];
    if (t.info.trim() === 'wb') {
      panels.push(parsePanel(t.content));
      return `<div class="wb-panel" data-panel="${panels.length - 1}"></div>\n`;
    }
    return fence(tokens, idx, options, env, self);
  };
  const html = DOMPurify.sanitize(md.render(text || ''), {
    ALLOWED_ATTR: ['href', 'title', 'class', 'data-panel', 'alt', 'src', 'start', 'colspan', 'rowspan', 'align'],
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'object', 'embed'],
    ALLOW_DATA_ATTR: false,
  });
  return { html, panels };
}

// Runs a panel is about: by id, or by filter.
async function panelRuns(base, spec) {
  if (spec.runs && spec.runs.length) return spec.runs.slice(0, PANEL_RUNS_MAX);
  const qs = new URLSearchParams();
  if (spec.filter) for (const f of spec.filter.split('&&')) qs.append('filter', f.trim());
  if (spec.sort) qs.set('sort', spec.sort);
  qs.set('limit', String(Math.min(Number(spec.limit) || 10, PANEL_RUNS_MAX)));
  const d = await api(`${base}/runs?${qs}`);
  return d.runs.map((r) => r.id);
}

async function drawChart(box, base, spec, charts) {
  const ids = await panelRuns(base, spec);
  const metrics = spec.metrics || [];
  if (!metrics.length) throw new Error('chart: name at least one metric');
  if (!ids.length) { box.appendChild(h('p', { class: 'muted' }, 'No runs match.')); return; }
  const grid = h('div', { class: 'charts' });
  box.appendChild(grid);
  // Every chart is in the grid before any is drawn, so each sizes to its own cell.
  const made = metrics.map((key) => {
    const c = new Chart({ title: key, height: 220 });
    grid.appendChild(c.el);
    charts.push(c);
    return [key, c];
  });
  await Promise.all(made.map(async ([key, c]) => {
    const d = await api(`${base}/history?runs=${ids.map(enc).join(',')}&key=${enc(key)}&buckets=500&include=run`);
    const series = d.runs.filter((r) => r.step && r.step.length).map((r, i) => ({
      label: (r.run && r.run.name) || r.id, color: runColor(i), x: r.step, y: r.last,
    }));
    if (!series.length) { c.el.dataset.state = 'ready'; c.el.appendChild(h('p', { class: 'muted' }, 'No data.')); return; }
    c.setData(series);
  }));
}

async function drawTable(box, base, spec, entityPath) {
  const qs = new URLSearchParams();
  if (spec.filter) for (const f of spec.filter.split('&&')) qs.append('filter', f.trim());
  if (spec.sort) qs.set('sort', spec.sort);
  qs.set('limit', String(Math.min(Number(spec.limit) || 20, PANEL_RUNS_MAX)));
  const d = await api(`${base}/runs?${qs}`);
  const cols = spec.columns || [];
  box.appendChild(h('table', { class: 'grid' },
    h('thead', null, h('tr', null, h('th', null, 'run'), h('th', null, 'state'), cols.map((c) => h('th', null, c)))),
    h('tbody', null, d.runs.map((r) => h('tr', null,
      h('td', null, h('a', { href: `${entityPath}/runs/${enc(r.id)}` }, r.name || r.id)),
      h('td', null, stateBadge(r.state)),
      cols.map((c) => h('td', { class: 'num' }, valueText(getPath(r, c)))))))));
}

async function drawCompare(box, base, spec, entityPath) {
  const ids = (spec.runs || []).slice(0, 10);
  if (ids.length < 2) throw new Error('compare: name at least two runs');
  const runs = await Promise.all(ids.map((id) => api(`${base}/runs/${enc(id)}`)));
  const rows = new Map();
  runs.forEach((r, i) => {
    for (const part of ['config', 'summary']) {
      for (const [k, v] of flatten(r[part] || {})) {
        const key = `${part}.${k}`;
        if (!rows.has(key)) rows.set(key, new Array(runs.length).fill(undefined));
        rows.get(key)[i] = v;
      }
    }
  });
  box.appendChild(h('table', { class: 'grid compare-table' },
    h('thead', null, h('tr', null, h('th', null, ''), runs.map((r) => h('th', null,
      h('a', { href: `${entityPath}/runs/${enc(r.id)}` }, r.name || r.id))))),
    h('tbody', null, [...rows.entries()].map(([k, vals]) => {
      const differs = new Set(vals.map((v) => JSON.stringify(v))).size > 1;
      return h('tr', { class: differs ? 'differs' : null }, h('td', null, valueText(k)), vals.map((v) => h('td', { class: 'num' }, valueText(v))));
    }))));
}

// Render report text into root: sanitised markdown, then live panels.
export async function renderReportBody(root, entity, project, text) {
  const base = `/projects/${enc(entity)}/${enc(project)}`;
  const entityPath = `/${enc(entity)}/${enc(project)}`;
  const { html, panels } = renderMarkdown(text);
  const doc = h('div', { class: 'report-body', id: 'report-body' });
  doc.innerHTML = html; // sanitised by DOMPurify above; markdown-it escapes raw HTML before that
  root.appendChild(doc);
  const charts = [];
  const jobs = [];
  doc.querySelectorAll('div.wb-panel').forEach((el) => {
    const spec = panels[Number(el.dataset.panel)];
    if (!spec) return;
    el.dataset.type = spec.type || '';
    const fn = spec.type === 'chart' ? drawChart : spec.type === 'table' ? drawTable : spec.type === 'compare' ? drawCompare : null;
    if (!fn) { el.appendChild(h('p', { class: 'error' }, `unknown panel "${spec.type || ''}": use chart, table or compare`)); return; }
    jobs.push(fn(el, base, spec, spec.type === 'chart' ? charts : entityPath).then(
      () => { el.dataset.state = 'ready'; },
      (e) => { el.dataset.state = 'error'; el.appendChild(h('p', { class: 'error' }, e instanceof ApiError ? `${e.message} (${e.status})` : String(e.message || e))); }));
  });
  await Promise.all(jobs);
  return () => charts.forEach((c) => c.destroy());
}

export async function renderReports(root, entity, project) {
  const base = `/projects/${enc(entity)}/${enc(project)}`;
  const entityPath = `/${enc(entity)}/${enc(project)}`;
  setCrumbs([['projects', '/'], [`${entity}/${project}`, entityPath], ['reports']]);
  const [{ reports }, proj] = await Promise.all([api(`${base}/reports`), api(base)]);
  const canEdit = proj.role === 'editor' || proj.role === 'admin';
  root.appendChild(h('div', { class: 'page-head' }, h('h1', null, 'Reports'), h('span', { class: 'muted small' }, `${entity}/${project}`)));
  if (canEdit) {
    const title = h('input', { type: 'text', id: 'new-report-title', placeholder: 'title', size: 40 });
    const msg = h('p', { class: 'muted', id: 'new-report-msg' });
    root.appendChild(h('form', { class: 'toolbar', id: 'new-report', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        const r = await api(`${base}/reports`, { method: 'POST', body: { title: title.value.trim(), body: `# ${title.value.trim()}\n\n` } });
        navigate(`${entityPath}/reports/${r.id}?edit=1`);
      } catch (e) { msg.className = 'error'; msg.textContent = e.message; }
    } }, title, h('button', { type: 'submit', class: 'primary' }, 'New report'), msg));
  }
  if (!reports.length) { root.appendChild(h('p', { class: 'muted' }, 'No reports yet.')); return; }
  root.appendChild(h('table', { class: 'grid', id: 'reports' },
    h('thead', null, h('tr', null, h('th', null, 'report'), h('th', null, 'version'), h('th', null, 'by'), h('th', null, 'updated'))),
    h('tbody', null, reports.map((r) => h('tr', null,
      h('td', null, h('a', { href: `${entityPath}/reports/${r.id}` }, r.title)),
      h('td', { class: 'num' }, String(r.version)), h('td', null, r.author || ''), h('td', null, fmtTime(r.updated_at)))))));
}

export async function renderReport(root, entity, project, id) {
  const base = `/projects/${enc(entity)}/${enc(project)}`;
  const entityPath = `/${enc(entity)}/${enc(project)}`;
  const self = `${entityPath}/reports/${enc(id)}`;
  const params = new URLSearchParams(location.search);
  const v = params.get('v');
  const [rep, proj] = await Promise.all([
    api(v ? `${base}/reports/${enc(id)}/versions/${enc(v)}` : `${base}/reports/${enc(id)}`), api(base)]);
  const canEdit = proj.role === 'editor' || proj.role === 'admin';
  setCrumbs([['projects', '/'], [`${entity}/${project}`, entityPath], ['reports', `${entityPath}/reports`], [rep.title]]);

  if (params.get('history')) {
    const { versions } = await api(`${base}/reports/${enc(id)}/versions`);
    root.appendChild(h('div', { class: 'page-head' }, h('h1', null, rep.title), h('span', { class: 'muted' }, 'history')));
    root.appendChild(h('table', { class: 'grid', id: 'report-history' },
      h('thead', null, h('tr', null, h('th', null, 'version'), h('th', null, 'title'), h('th', null, 'by'), h('th', null, 'when'))),
      h('tbody', null, versions.map((x) => h('tr', null,
        h('td', null, h('a', { href: `${self}?v=${x.version}` }, `v${x.version}`)), h('td', null, x.title),
        h('td', null, x.author || ''), h('td', null, fmtTime(x.created_at)))))));
    return null;
  }

  if (params.get('edit') && canEdit) {
    const title = h('input', { type: 'text', id: 'report-title', value: rep.title, size: 60 });
    const text = h('textarea', { id: 'report-text', rows: 24, style: { width: '100%', fontFamily: 'monospace' } });
    text.value = rep.body;
    const preview = h('div', { class: 'card', id: 'report-preview' });
    const msg = h('p', { class: 'muted', id: 'report-msg' });
    let dispose = null;
    const refresh = async () => {
      if (dispose) dispose();
      clear(preview);
      dispose = await renderReportBody(preview, entity, project, text.value);
    };
    root.appendChild(h('div', { class: 'page-head' }, h('h1', null, 'Edit report'),
      h('span', { class: 'muted small' }, `editing version ${rep.version}`)));
    root.appendChild(h('form', { id: 'report-form', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        await api(`${base}/reports/${enc(id)}`, { method: 'PUT', body: { title: title.value.trim(), body: text.value, base_version: rep.latest_version } });
        navigate(self);
      } catch (e) { msg.className = 'error'; msg.textContent = e.message; }
    } },
    h('p', null, title), text,
    h('p', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary', id: 'report-save' }, 'Save'),
      h('button', { type: 'button', id: 'report-preview-btn', onclick: refresh }, 'Preview'),
      h('a', { href: self }, 'Cancel'),
      h('span', { class: 'muted small' }, 'Panels: ```wb blocks — chart: metric, … with runs: or filter:; table; compare: run, run')),
    msg));
    root.appendChild(preview);
    await refresh();
    return () => { if (dispose) dispose(); };
  }

  const old = rep.version !== rep.latest_version;
  root.appendChild(h('div', { class: 'page-head' }, h('h1', { id: 'report-title' }, rep.title),
    h('span', { class: 'muted small', id: 'report-meta' }, `v${rep.version} · ${rep.author || ''} · ${fmtTime(rep.updated_at)}`),
    h('span', { class: 'spacer' }),
    h('a', { href: `${self}?history=1`, id: 'report-history-link' }, 'History'),
    canEdit && !old ? h('a', { class: 'button', href: `${self}?edit=1`, id: 'report-edit' }, 'Edit') : null));
  if (old) root.appendChild(h('p', { class: 'error-box', id: 'report-old' }, `This is version ${rep.version}; the latest is `,
    h('a', { href: self }, `version ${rep.latest_version}`), '.'));
  return renderReportBody(root, entity, project, rep.body);
}
