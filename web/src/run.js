// run.js — the run page /<entity>/<project>/runs/<id>.
//
// Overview (state, duration, host, command, config, summary, metadata),
// editing of name/notes/tags, and a chart per metric. View state in the
// query: x=step|_timestamp|relative|<metric>  smooth=0..0.99  log=1
// band=0  zoom=<first step>-<last step>  m=<metric name filter>
// szoom=<ms>-<ms> (the System section's time window, see system.js).
// While the run is running the page polls every 2 s.
import { h, clear, fmtValue, fmtTime, fmtDuration, runDuration, stateBadge, flatten, kv } from './dom.js';
import { api, enc, runPath, ApiError } from './api.js';
import { setQuery, setCrumbs } from './nav.js';
import { Chart, smooth, makeStepMap } from './chart.js';
import { renderCode } from './code.js';
import { systemSection, isSystemKey } from './system.js';
import { renderMedia, refreshMedia } from './media.js';
import { renderRunArtifacts } from './artifacts.js';

const BUCKETS = 1000;
const POLL_MS = 2000;

export async function renderRun(root, entity, project, id) {
  const base = `/${enc(entity)}/${enc(project)}`;
  const rp = runPath(entity, project, id);
  const params = new URLSearchParams(location.search);
  let run = await api(rp);
  let metrics = (await api(`${rp}/metrics`)).metrics;
  let alive = true;
  let timer = null;
  const charts = new Map(); // key -> Chart

  setCrumbs([['projects', '/'], [`${entity}/${project}`, base], [run.name]]);

  const head = h('div', { class: 'run-head' });
  const overview = h('div', { class: 'overview' });
  const controls = h('div', { class: 'toolbar chart-controls' });
  const grid = h('div', { class: 'charts', id: 'charts' });
  const codeBox = h('section', { class: 'card code', id: 'code', style: { display: 'none' } });
  const sysBox = h('section', { class: 'system-section', id: 'system' });
  const mediaBox = h('section', { class: 'media', id: 'media', style: { display: 'none' } });
  const artBox = h('section', { class: 'card', id: 'run-artifacts', style: { display: 'none' } });
  root.append(head, overview, codeBox, artBox, h('h2', null, 'Charts'), controls, grid, sysBox, mediaBox);

  function renderHead() {
    clear(head);
    head.append(
      h('h1', { id: 'run-name' }, run.name),
      stateBadge(run.state),
      h('span', { class: 'muted' }, ` ${run.id}`),
      h('span', { class: 'spacer' }),
      h('button', { type: 'button', id: 'edit-btn', onclick: () => renderEdit() }, 'Edit'),
      ...(run.group ? [h('a', { class: 'button', id: 'group-link', href: `${base}/groups/${enc(run.group)}` }, `Group ${run.group}`)] : []),
      h('a', { class: 'button', href: `${base}/compare?runs=${enc(run.id)}` }, 'Compare…'));
  }

  function renderEdit() {
    const name = h('input', { type: 'text', id: 'edit-name', value: run.name, size: 40 });
    const tags = h('input', { type: 'text', id: 'edit-tags', value: (run.tags || []).join(', '), size: 40 });
    const notes = h('textarea', { id: 'edit-notes', rows: 4, cols: 60 });
    notes.value = run.notes || '';
    const msg = h('span', { class: 'error' });
    const form = h('form', { class: 'card edit', id: 'edit-form', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        run = await api(rp, { method: 'PATCH', body: {
          name: name.value.trim(),
          notes: notes.value,
          tags: [...new Set(tags.value.split(',').map((t) => t.trim()).filter(Boolean))],
        } });
        renderHead();
        renderOverview();
      } catch (e) {
        msg.textContent = e.message;
      }
    } },
    h('label', null, 'Name ', name), h('label', null, 'Tags (comma-separated) ', tags), h('label', null, 'Notes', notes),
    h('div', null, h('button', { type: 'submit', class: 'primary', id: 'edit-save' }, 'Save'), ' ',
      h('button', { type: 'button', onclick: () => { renderHead(); renderOverview(); } }, 'Cancel'), ' ', msg));
    clear(overview);
    overview.appendChild(form);
  }

  function renderOverview() {
    const m = run.metadata || {};
    const cmd = Array.isArray(m.argv) ? m.argv.join(' ') : (m.command || '');
    const facts = [
      ['state', run.state + (run.exit_code !== null && run.exit_code !== undefined ? ` (exit ${run.exit_code})` : '')],
      ['created', fmtTime(run.created_at)],
      ['duration', fmtDuration(runDuration(run))],
      ['host', m.hostname || ''],
      ['user', m.user || ''],
      ['command', cmd],
      ['group', run.group || ''],
      ['job type', run.job_type || ''],
      ['last step', run.last_step],
    ].filter(([, v]) => v !== '' && v !== null && v !== undefined);
    const summaryRows = Object.entries(run.summary || {}).filter(([k]) => !k.startsWith('_'))
      .map(([k, v]) => [k, v && typeof v === 'object' ? Object.entries(v).map(([a, b]) => `${a} ${fmtValue(b)}`).join(' · ') : v]);
    clear(overview);
    overview.append(
      h('div', { class: 'cards' },
        h('section', { class: 'card' }, h('h3', null, 'Overview'), kv(facts),
          (run.tags || []).length ? h('div', { class: 'tags' }, run.tags.map((t) => h('span', { class: t === 'baseline' ? 'tag tag-baseline' : 'tag' }, t))) : null,
          run.notes ? h('p', { class: 'notes-full', id: 'run-notes' }, run.notes) : null),
        h('section', { class: 'card', id: 'config' }, h('h3', null, 'Config'), kv(flatten(run.config))),
        h('section', { class: 'card', id: 'summary' }, h('h3', null, 'Summary'), kv(summaryRows)),
        h('section', { class: 'card', id: 'metadata' }, h('h3', null, 'Metadata'),
          kv(flatten(m).filter(([k]) => k !== 'argv' && !k.startsWith('code.')).map(([k, v]) => [k, Array.isArray(v) ? v.join(' ') : v])))));
  }

  // ---- chart controls ----
  // System metrics (x = ms since start) have their own section, not a chart here.
  const userKeys = () => metrics.map((x) => x.key).filter((k) => !k.startsWith('_') && !isSystemKey(k));
  const sysKeys = () => metrics.map((x) => x.key).filter(isSystemKey);
  let sys = null;
  const buildSystem = () => {
    if (sys) sys.destroy();
    sys = systemSection(sysBox, rp, params, sysKeys(), () => bandIn.checked);
    return sys.load();
  };
  const xSel = h('select', { id: 'x-axis' });
  const fillX = () => {
    clear(xSel);
    xSel.append(h('option', { value: 'step' }, 'step'), h('option', { value: '_timestamp' }, 'wall time'),
      h('option', { value: 'relative' }, 'relative time'), userKeys().map((k) => h('option', { value: k }, k)));
    xSel.value = params.get('x') || 'step';
  };
  // A shared link may name an x axis this run lacks (x=epoch from another
  // run, or a metric since deleted): chart against step and say so, rather
  // than fail the whole page on the history's 404.
  const xNote = h('span', { class: 'notice small', id: 'x-fallback' });
  const xKnown = (m) => m === 'step' || m === 'relative' || m === '_timestamp' || userKeys().includes(m);
  const xFallback = (m) => {
    xNote.textContent = `This run has no metric "${m}" for the x axis: showing step.`;
    params.delete('x');
    setQuery(params);
  };
  if (params.get('x') && !xKnown(params.get('x'))) xFallback(params.get('x'));
  fillX();
  const smoothIn = h('input', { type: 'range', id: 'smoothing', min: 0, max: 0.99, step: 0.01, value: params.get('smooth') || '0' });
  const smoothOut = h('span', { class: 'muted small' }, params.get('smooth') || '0');
  const logIn = h('input', { type: 'checkbox', id: 'log-scale', checked: params.get('log') === '1' });
  const bandIn = h('input', { type: 'checkbox', id: 'minmax-band', checked: params.get('band') !== '0' });
  const filterIn = h('input', { type: 'search', id: 'metric-filter', placeholder: 'filter metrics', value: params.get('m') || '' });
  const zoomInfo = h('span', { class: 'muted small', id: 'zoom-info' });
  const set = (k, v, def) => { if (v === def || v === '' || v === null) params.delete(k); else params.set(k, v); setQuery(params); };
  xSel.addEventListener('change', () => { set('x', xSel.value, 'step'); params.delete('zoom'); setQuery(params); rebuild(); });
  smoothIn.addEventListener('input', () => { smoothOut.textContent = smoothIn.value; set('smooth', smoothIn.value, '0'); redrawAll(); });
  logIn.addEventListener('change', () => { set('log', logIn.checked ? '1' : '', ''); rebuild(); });
  bandIn.addEventListener('change', () => { set('band', bandIn.checked ? '' : '0', ''); rebuild(); if (sys) sys.load(); });
  filterIn.addEventListener('input', () => { set('m', filterIn.value.trim(), ''); rebuild(); });
  controls.append(h('label', null, 'X axis ', xSel), h('label', null, 'Smoothing ', smoothIn, ' ', smoothOut),
    h('label', null, logIn, ' log scale'), h('label', null, bandIn, ' min/max band'), filterIn, zoomInfo, xNote,
    h('span', { class: 'spacer' }), h('span', { class: 'muted small' }, 'drag to zoom · double-click to reset'));

  function zoomRange() {
    const z = /^(-?\d+)-(-?\d+)$/.exec(params.get('zoom') || '');
    return z ? [Number(z[1]), Number(z[2])] : null;
  }

  // ---- data ----
  const raw = new Map(); // key -> history answer
  let xmap = null;       // {steps, values} of the x series, or null for step

  async function fetchHistory(key, buckets) {
    const z = zoomRange();
    const qs = new URLSearchParams({ key, buckets: String(buckets) });
    if (z) { qs.set('start', String(z[0])); qs.set('end', String(z[1])); }
    return api(`${rp}/history?${qs}`);
  }

  function xOf(steps) {
    const mode = params.get('x') || 'step';
    if (mode === 'step' || !xmap) return steps;
    const f = makeStepMap(xmap.steps, xmap.values);
    const t0 = mode === 'relative' ? xmap.t0 : 0;
    return steps.map((s) => f(s) - t0);
  }

  function seriesFor(key) {
    const d = raw.get(key);
    const w = Number(params.get('smooth') || 0);
    const x = xOf(d.step);
    let y = smooth(d.last, w);
    let min = bandIn.checked && d.downsampled ? d.min : null;
    let max = bandIn.checked && d.downsampled ? d.max : null;
    // uPlot wants ascending x; a metric used as x may not be monotonic.
    if ((params.get('x') || 'step') !== 'step' && x.some((v, i) => i && v < x[i - 1])) {
      const idx = x.map((_, i) => i).sort((a, b) => x[a] - x[b]);
      const pick = (arr) => (arr ? idx.map((i) => arr[i]) : null);
      return [{ label: key, x: pick(x), y: pick(y), min: pick(min), max: pick(max) }];
    }
    return [{ label: key, x, y, min, max }];
  }

  function expose(key) {
    const d = raw.get(key);
    const s = seriesFor(key)[0];
    window.__wb.charts[key] = { steps: d.step, last: d.last, min: d.min, max: d.max, x: s.x, y: s.y, total: d.total, downsampled: d.downsampled };
  }

  function draw(key) {
    const c = charts.get(key);
    if (!c || !raw.has(key)) return;
    c.opts.log = logIn.checked;
    c.setData(seriesFor(key));
    expose(key);
  }

  function redrawAll() { for (const k of charts.keys()) draw(k); }

  async function loadX() {
    const mode = params.get('x') || 'step';
    xmap = null;
    if (mode === 'step') return;
    const key = mode === 'relative' ? '_timestamp' : mode;
    let d;
    try {
      d = await fetchHistory(key, 10000);
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 404) throw e;
      xFallback(mode);
      xSel.value = 'step';
      return;
    }
    xmap = { steps: d.step, values: d.last, t0: 0 };
    if (mode === 'relative') {
      const all = await api(`${rp}/history?key=_timestamp&buckets=1`).catch(() => null);
      xmap.t0 = all && all.min.length ? all.min[0] : (d.last[0] || 0);
    }
  }

  async function loadAll() {
    await loadX();
    const keys = [...charts.keys()];
    const answers = await Promise.all(keys.map((k) => fetchHistory(k, BUCKETS).catch(() => null)));
    if (!alive) return;
    keys.forEach((k, i) => { if (answers[i]) raw.set(k, answers[i]); });
    redrawAll();
    const z = zoomRange();
    zoomInfo.textContent = z ? `steps ${z[0]}–${z[1]}` : '';
  }

  // Selection in x units → step range (x is monotonic in step for step/time axes).
  function toSteps(x0, x1) {
    const mode = params.get('x') || 'step';
    if (mode === 'step' || !xmap) return [Math.floor(x0), Math.ceil(x1)];
    const t0 = mode === 'relative' ? xmap.t0 : 0;
    const { steps, values } = xmap;
    let a = steps[0], b = steps[steps.length - 1];
    for (let i = 0; i < steps.length; i++) if (values[i] - t0 <= x0) a = steps[i];
    for (let i = steps.length - 1; i >= 0; i--) if (values[i] - t0 >= x1) b = steps[i];
    return [a, b];
  }

  async function zoom(s0, s1) {
    if (s1 < s0) [s0, s1] = [s1, s0];
    params.set('zoom', `${Math.floor(s0)}-${Math.ceil(s1)}`);
    setQuery(params);
    await loadAll();
  }

  async function resetZoom() {
    params.delete('zoom');
    setQuery(params);
    await loadAll();
  }

  function rebuild() {
    for (const c of charts.values()) c.destroy();
    charts.clear();
    clear(grid);
    const mode = params.get('x') || 'step';
    const f = (params.get('m') || '').toLowerCase();
    const keys = userKeys().filter((k) => !f || k.toLowerCase().includes(f));
    if (!keys.length) grid.appendChild(h('p', { class: 'muted' }, userKeys().length ? 'No metric matches.' : 'No metrics logged yet.'));
    for (const key of keys) {
      const c = new Chart({
        title: key,
        xLabel: mode === 'step' ? 'step' : mode === '_timestamp' ? 'time' : mode === 'relative' ? 'seconds' : mode,
        xTime: mode === '_timestamp',
        log: logIn.checked,
        onZoom: (x0, x1) => { const [a, b] = toSteps(x0, x1); zoom(a, b); },
        onReset: () => resetZoom(),
      });
      charts.set(key, c);
      grid.appendChild(c.el);
    }
    return loadAll();
  }

  async function poll() {
    if (!alive) return;
    try {
      run = await api(rp);
      const m = (await api(`${rp}/metrics`)).metrics;
      const newKeys = m.filter((x) => !isSystemKey(x.key)).length !== metrics.filter((x) => !isSystemKey(x.key)).length;
      const newSys = m.filter((x) => isSystemKey(x.key)).length !== sysKeys().length;
      metrics = m;
      renderHead();
      if (!overview.querySelector('#edit-form')) renderOverview();
      if (newKeys) { fillX(); await rebuild(); } else await loadAll();
      if (newSys) await buildSystem(); else if (sys) await sys.load();
      await refreshMedia(mediaBox, rp).catch(() => {});
      document.body.dataset.polled = String((Number(document.body.dataset.polled) || 0) + 1);
    } catch { /* keep polling: the server may be restarting */ }
    if (alive && run.state === 'running') timer = setTimeout(poll, POLL_MS);
  }

  renderHead();
  renderOverview();
  renderCode(codeBox, rp, run).catch(() => { codeBox.style.display = 'none'; });
  renderRunArtifacts(artBox, entity, project, id).catch(() => { artBox.style.display = 'none'; });
  window.__wb.system = {};
  await Promise.all([rebuild(), buildSystem()]);
  await renderMedia(mediaBox, rp).catch(() => { mediaBox.style.display = 'none'; });
  window.__wb.zoom = zoom;
  window.__wb.resetZoom = resetZoom;
  if (run.state === 'running') timer = setTimeout(poll, POLL_MS);
  const onResize = () => { for (const c of charts.values()) c.resize(); if (sys) sys.resize(); };
  window.addEventListener('resize', onResize);
  return () => {
    alive = false;
    clearTimeout(timer);
    window.removeEventListener('resize', onResize);
    for (const c of charts.values()) c.destroy();
    if (sys) sys.destroy();
  };
}
