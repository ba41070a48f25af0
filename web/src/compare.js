// compare.js — /<entity>/<project>/compare?runs=a,b,c
//
// Many runs overlaid on shared charts (one request per metric for all runs:
// GET /projects/{e}/{p}/history?runs=…&include=run), a parallel-coordinates
// view from the config values that differ to a chosen summary metric, and a
// table of those config differences. View state: runs, keys (charts), pc
// (the summary metric), smooth, zoom=<first step>-<last step>: dragging on a
// chart re-requests every shown metric of every run for that step window,
// so the lines gain detail instead of being stretched.
import { h, clear, fmtValue, fmtNum, flatten, runColor, stateBadge } from './dom.js';
import { api, enc, runPath } from './api.js';
import { setQuery, setCrumbs } from './nav.js';
import { Chart, smooth } from './chart.js';
import { isSystemKey } from './system.js';

const LEGEND_MAX = 60;
const TABLE_MAX = 200;

export async function renderCompare(root, entity, project) {
  const base = `/${enc(entity)}/${enc(project)}`;
  const params = new URLSearchParams(location.search);
  const ids = [...new Set((params.get('runs') || '').split(',').map((s) => s.trim()).filter(Boolean))];
  setCrumbs([['projects', '/'], [`${entity}/${project}`, base], ['compare']]);
  if (!ids.length) {
    root.appendChild(h('div', { class: 'error-box' }, 'No runs chosen. Select runs in the runs table and press Compare.'));
    return null;
  }
  const colorOf = new Map(ids.map((id, i) => [id, runColor(i)]));
  const metricList = (await api(`${runPath(entity, project, ids[0])}/metrics`)).metrics.map((m) => m.key)
    .filter((k) => !k.startsWith('_') && !isSystemKey(k)); // system/* are against time, not steps: the run page's System section
  let keys = (params.get('keys') || '').split(',').filter(Boolean);
  if (!keys.length) keys = metricList.slice(0, 4);
  const buckets = Math.max(50, Math.min(1000, Math.floor(200000 / ids.length)));
  const runs = new Map(); // id -> run object
  const hist = new Map(); // key -> answer
  const charts = new Map();
  let alive = true;

  function zoomRange() {
    const z = /^(-?\d+)-(-?\d+)$/.exec(params.get('zoom') || '');
    return z ? [Number(z[1]), Number(z[2])] : null;
  }

  async function fetchKey(key, withRuns) {
    const qs = new URLSearchParams({ runs: ids.join(','), key, buckets: String(buckets) });
    if (withRuns) qs.set('include', 'run');
    const z = zoomRange();
    if (z) { qs.set('start', String(z[0])); qs.set('end', String(z[1])); }
    const d = await api(`/projects/${enc(entity)}/${enc(project)}/history?${qs}`);
    for (const r of d.runs) if (r.run) runs.set(r.id, r.run);
    return d;
  }

  // The first metric also brings the run objects (names, config, summary).
  const first = keys.length ? await fetchKey(keys[0], true) : await fetchKey(metricList[0] || '_timestamp', true);
  if (keys.length) hist.set(keys[0], first);

  const legend = h('div', { class: 'legend', id: 'legend' });
  const keyBox = h('div', { class: 'keys' });
  const smoothIn = h('input', { type: 'range', id: 'smoothing', min: 0, max: 0.99, step: 0.01, value: params.get('smooth') || '0' });
  const zoomInfo = h('span', { class: 'muted small', id: 'zoom-info' });
  const grid = h('div', { class: 'charts', id: 'charts' });
  const pcSel = h('select', { id: 'pc-metric' });
  const pcCanvas = h('canvas', { id: 'parallel', width: 1100, height: 320 });
  const diffWrap = h('div', { class: 'table-wrap' });

  root.append(
    h('div', { class: 'page-head' }, h('h1', null, `Comparing ${ids.length} run${ids.length === 1 ? '' : 's'}`)),
    legend,
    h('div', { class: 'toolbar' }, h('span', { class: 'muted' }, 'Metrics: '), keyBox, h('span', { class: 'spacer' }),
      zoomInfo, h('label', null, 'Smoothing ', smoothIn), h('span', { class: 'muted small' }, 'drag to zoom · double-click to reset')),
    grid,
    h('h2', null, 'Parallel coordinates'),
    h('div', { class: 'toolbar' }, h('label', null, 'Colour by summary metric ', pcSel)),
    h('div', { class: 'card pc' }, pcCanvas),
    h('h2', null, 'Config differences'),
    diffWrap);

  // ---- legend ----
  const shown = ids.slice(0, LEGEND_MAX);
  legend.append(...shown.map((id) => {
    const r = runs.get(id);
    return h('a', { class: 'legend-item', href: `${base}/runs/${enc(id)}`, dataset: { run: id } },
      h('span', { class: 'swatch', style: { background: colorOf.get(id) } }), r ? r.name : `${id} (missing)`);
  }));
  if (ids.length > LEGEND_MAX) legend.appendChild(h('span', { class: 'muted' }, ` and ${ids.length - LEGEND_MAX} more`));

  // ---- metric choice ----
  for (const k of metricList) {
    keyBox.appendChild(h('label', { class: 'colopt' }, h('input', { type: 'checkbox', checked: keys.includes(k), onchange: (ev) => {
      keys = ev.target.checked ? [...keys, k] : keys.filter((x) => x !== k);
      params.set('keys', keys.join(','));
      setQuery(params);
      buildCharts();
    } }), ' ', k));
  }
  smoothIn.addEventListener('input', () => {
    if (smoothIn.value === '0') params.delete('smooth'); else params.set('smooth', smoothIn.value);
    setQuery(params);
    for (const k of charts.keys()) draw(k);
  });

  function draw(key) {
    const d = hist.get(key), c = charts.get(key);
    if (!d || !c) return;
    const w = Number(params.get('smooth') || 0);
    const series = d.runs.filter((r) => r.step && r.step.length).map((r) => ({
      label: runs.get(r.id) ? runs.get(r.id).name : r.id, color: colorOf.get(r.id), x: r.step, y: smooth(r.last, w),
    }));
    if (!series.length) { c.el.dataset.state = 'ready'; return; }
    c.setData(series);
    window.__wb.charts[key] = { zoom: params.get('zoom') || '', runs: d.runs.map((r) => ({ id: r.id, steps: r.step || [], last: r.last || [] })) };
  }

  async function buildCharts() {
    for (const c of charts.values()) c.destroy();
    charts.clear();
    clear(grid);
    for (const key of keys) {
      const c = new Chart({ title: key, xLabel: 'step', onZoom: (x0, x1) => zoom(x0, x1), onReset: () => zoom(null) });
      charts.set(key, c);
      grid.appendChild(c.el);
    }
    await Promise.all(keys.map(async (k) => {
      if (!hist.has(k)) hist.set(k, await fetchKey(k, false));
      if (alive) draw(k);
    }));
  }

  // Zoom (or, with null, reset) every chart: all runs' data for the window, again from the server.
  let zoomSeq = 0;
  async function zoom(x0, x1) {
    if (x0 === null) params.delete('zoom');
    else {
      let a = Math.floor(x0), b = Math.ceil(x1);
      if (b < a) [a, b] = [b, a];
      params.set('zoom', `${a}-${b}`);
    }
    setQuery(params);
    const seq = ++zoomSeq;
    const z = zoomRange();
    zoomInfo.textContent = z ? `steps ${z[0]}–${z[1]}` : '';
    const answers = await Promise.all(keys.map((k) => fetchKey(k, false)));
    if (!alive || seq !== zoomSeq) return;
    keys.forEach((k, i) => hist.set(k, answers[i]));
    for (const k of keys) draw(k);
  }
  window.__wb.zoom = (a, b) => zoom(a, b);
  if (zoomRange()) zoomInfo.textContent = `steps ${zoomRange()[0]}–${zoomRange()[1]}`;

  // ---- config differences ----
  const runList = ids.map((id) => runs.get(id)).filter(Boolean);
  const flat = runList.map((r) => new Map(flatten(r.config).map(([k, v]) => [k, JSON.stringify(v)])));
  const allKeys = [...new Set(flat.flatMap((m) => [...m.keys()]))].sort();
  const diffKeys = allKeys.filter((k) => new Set(flat.map((m) => m.get(k))).size > 1);
  {
    const head = h('tr', null, h('th', null, 'run'), h('th', null, 'state'), diffKeys.map((k) => h('th', null, k)));
    const body = h('tbody');
    runList.slice(0, TABLE_MAX).forEach((r, i) => {
      body.appendChild(h('tr', { dataset: { run: r.id } },
        h('td', { class: 'name' }, h('span', { class: 'swatch', style: { background: colorOf.get(r.id) } }), ' ',
          h('a', { href: `${base}/runs/${enc(r.id)}` }, r.name)),
        h('td', null, stateBadge(r.state)),
        diffKeys.map((k) => { const v = flat[i].get(k); return h('td', null, v === undefined ? '' : fmtValue(JSON.parse(v))); })));
    });
    diffWrap.appendChild(h('table', { class: 'grid', id: 'config-diff' }, h('thead', null, head), body));
    if (!diffKeys.length) diffWrap.appendChild(h('p', { class: 'muted' }, 'These runs have the same config.'));
    if (runList.length > TABLE_MAX) diffWrap.appendChild(h('p', { class: 'muted' }, `First ${TABLE_MAX} of ${runList.length} runs.`));
  }

  // ---- parallel coordinates (canvas; axes: differing config values → summary metric) ----
  const summaryKeys = [...new Set(runList.flatMap((r) => Object.keys(r.summary || {}).filter((k) => !k.startsWith('_'))))].sort();
  pcSel.append(...summaryKeys.map((k) => h('option', { value: k }, k)));
  pcSel.value = params.get('pc') && summaryKeys.includes(params.get('pc')) ? params.get('pc') : (summaryKeys[0] || '');
  pcSel.addEventListener('change', () => { params.set('pc', pcSel.value); setQuery(params); drawPC(); });

  function summaryNum(r, k) {
    const v = r.summary ? r.summary[k] : undefined;
    const x = v && typeof v === 'object' ? v.last : v;
    return typeof x === 'number' && Number.isFinite(x) ? x : null;
  }

  function drawPC() {
    const ctx = pcCanvas.getContext('2d');
    const dpr = window.devicePixelRatio || 1;
    const W = pcCanvas.parentElement.clientWidth - 32 || 1000, H = 320;
    pcCanvas.width = W * dpr; pcCanvas.height = H * dpr;
    pcCanvas.style.width = `${W}px`; pcCanvas.style.height = `${H}px`;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    const metric = pcSel.value;
    const axes = diffKeys.slice(0, 12).map((k) => ({ name: k, get: (i) => flat[i].has(k) ? JSON.parse(flat[i].get(k)) : null }));
    if (metric) axes.push({ name: metric, get: (i) => summaryNum(runList[i], metric), metric: true });
    if (axes.length < 2) {
      ctx.fillStyle = '#64748b'; ctx.font = '13px system-ui';
      ctx.fillText('Needs at least one config value that differs and a summary metric.', 16, 30);
      pcCanvas.dataset.axes = String(axes.length);
      return;
    }
    // Each axis: numeric (min..max) or categorical (sorted distinct values).
    for (const a of axes) {
      const vals = runList.map((_, i) => a.get(i));
      const nums = vals.filter((v) => typeof v === 'number' && Number.isFinite(v));
      if (nums.length === vals.filter((v) => v !== null).length && nums.length) {
        a.min = Math.min(...nums); a.max = Math.max(...nums);
        a.pos = (v) => (typeof v === 'number' ? (a.max === a.min ? 0.5 : (v - a.min) / (a.max - a.min)) : null);
        a.labels = [[0, fmtNum(a.min)], [1, fmtNum(a.max)]];
      } else {
        const cats = [...new Set(vals.filter((v) => v !== null).map((v) => fmtValue(v)))].sort();
        a.pos = (v) => (v === null ? null : cats.length === 1 ? 0.5 : cats.indexOf(fmtValue(v)) / (cats.length - 1));
        a.labels = cats.slice(0, 12).map((c, i) => [cats.length === 1 ? 0.5 : i / (cats.length - 1), c]);
      }
    }
    const top = 36, bottom = H - 24, left = 60, right = W - 60;
    const ax = (j) => left + (j * (right - left)) / (axes.length - 1);
    const ay = (p) => bottom - p * (bottom - top);
    const m = axes[axes.length - 1];
    ctx.lineWidth = runList.length > 200 ? 0.6 : 1.4;
    runList.forEach((r, i) => {
      const mv = m.metric ? m.get(i) : null;
      const t = mv === null || m.max === m.min ? 0.5 : (mv - m.min) / (m.max - m.min);
      ctx.strokeStyle = `hsla(${Math.round(240 - 240 * t)}, 70%, 45%, ${runList.length > 200 ? 0.35 : 0.8})`;
      ctx.beginPath();
      let started = false;
      axes.forEach((a, j) => {
        const p = a.pos(a.get(i));
        if (p === null) { started = false; return; }
        if (!started) ctx.moveTo(ax(j), ay(p)); else ctx.lineTo(ax(j), ay(p));
        started = true;
      });
      ctx.stroke();
    });
    ctx.font = '12px system-ui'; ctx.textAlign = 'center';
    axes.forEach((a, j) => {
      ctx.strokeStyle = '#94a3b8'; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(ax(j), top); ctx.lineTo(ax(j), bottom); ctx.stroke();
      ctx.fillStyle = '#0f172a';
      ctx.fillText(a.name.length > 24 ? `${a.name.slice(0, 23)}…` : a.name, ax(j), 16);
      ctx.fillStyle = '#64748b';
      for (const [p, label] of a.labels) ctx.fillText(String(label).slice(0, 16), ax(j), ay(p) + (p === 0 ? 14 : p === 1 ? -4 : 4));
    });
    pcCanvas.dataset.axes = String(axes.length);
    pcCanvas.dataset.lines = String(runList.length);
  }

  await buildCharts();
  drawPC();
  const onResize = () => { for (const c of charts.values()) c.resize(); drawPC(); };
  window.addEventListener('resize', onResize);
  return () => { alive = false; window.removeEventListener('resize', onResize); for (const c of charts.values()) c.destroy(); };
}
