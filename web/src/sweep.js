// sweep.js — a project's sweeps, /<entity>/<project>/sweeps, and the sweep
// page, /<entity>/<project>/sweeps/<id> (a permanent URL).
//
// The sweep page: the header (state, method, metric and goal, counts, the
// best trial with its parameters, the `wb agent` command), pause / resume /
// stop / cancel for editors, the best-so-far curve (uPlot), parallel
// coordinates with brushing, a scatter of a chosen parameter against the
// metric, parameter importance, and the trials table. A brushed selection
// dims the trials outside it everywhere and offers "Compare N runs" (the
// compare view of those trials' runs). View state in the query:
//   brush=<p0>,<p1>,<axis> (repeatable; positions 0..1 along the axis)
//   sx=<parameter> (the scatter's x)  sort=[-]<column>  tpage=<n>  only=1 (table: selected rows only)
// While the sweep is running or paused, or trials still run, the page polls every 5 s.
//
// Everything is computed in the browser from two answers (the sweep and
// its trials, whose values the server reads from each run's summary);
// sweep_data.js holds the numbers, sweep_plots.js the canvases.
import { h, clear, fmtNum, fmtValue, fmtTime, fmtDuration, stateBadge, kv, flatten, valueText } from './dom.js';
import { api, enc } from './api.js';
import { setQuery, setCrumbs } from './nav.js';
import { errText } from './forms.js';
import { Chart } from './chart.js';
import { sweepParams, paramValue, makeAxis, bestSoFar, importance, trialDuration } from './sweep_data.js';
import { ParallelPlot, ScatterPlot, colorGradient } from './sweep_plots.js';

const POLL_MS = 5000;
const PAGE = 1000; // trials per request
const ROWS = 50; // trials per table page (as the runs table)
const ACTIVE = new Set(['running', 'paused']);
// The state changes each state offers: [target state, label, title].
const ACTIONS = {
  running: [['paused', 'Pause', 'no new trials until resumed'], ['stopped', 'Stop', 'no new trials; running ones finish'],
    ['canceled', 'Cancel', 'no new trials; running ones are told to stop']],
  paused: [['running', 'Resume', 'hand out trials again'], ['stopped', 'Stop', 'no new trials; running ones finish'],
    ['canceled', 'Cancel', 'no new trials; running ones are told to stop']],
  // A stopped sweep can only be canceled (its running trials told to stop); finished and canceled are final.
  stopped: [['canceled', 'Cancel', 'running trials are told to stop']],
};

const sweepsPath = (e, p) => `/projects/${enc(e)}/${enc(p)}/sweeps`;

function countsText(c) {
  if (!c) return '';
  const parts = [[c.finished, 'finished'], [(c.running || 0) + (c.leased || 0), 'running'], [c.pending, 'pending'],
    [c.failed, 'failed'], [c.crashed, 'crashed'], [c.stopped, 'stopped']].filter(([n]) => n);
  return `${c.issued || 0} issued${parts.length ? ': ' : ''}${parts.map(([n, w]) => `${n} ${w}`).join(', ')}`;
}

const metricText = (m) => (m ? `${m.name} (${m.goal === 'maximize' ? 'maximize ↑' : 'minimize ↓'})` : 'none');

export async function renderSweeps(root, entity, project) {
  const base = `/${enc(entity)}/${enc(project)}`;
  setCrumbs([['projects', '/'], [`${entity}/${project}`, base], ['sweeps']]);
  const { sweeps } = await api(sweepsPath(entity, project));
  root.appendChild(h('div', { class: 'page-head' }, h('h1', null, 'Sweeps'), h('span', { class: 'muted small' }, `${entity}/${project}`)));
  if (!sweeps.length) {
    root.appendChild(h('p', { class: 'muted', id: 'no-sweeps' }, 'No sweeps yet. Start one with ',
      h('code', null, `wb sweep create SPEC --project ${entity}/${project}`), ', then run ', h('code', null, 'wb agent'), '.'));
    return;
  }
  const head = ['sweep', 'id', 'state', 'method', 'metric', 'trials', 'best'];
  root.appendChild(h('div', { class: 'table-wrap' }, h('table', { class: 'grid', id: 'sweeps' },
    h('thead', null, h('tr', null, head.map((c) => h('th', { class: c === 'best' ? 'num' : null }, c)))),
    h('tbody', null, sweeps.map((s) => h('tr', { dataset: { sweep: s.id } },
      h('td', { class: 'name' }, h('a', { href: `${base}/sweeps/${enc(s.id)}` }, s.name || s.id)),
      h('td', { class: 'muted' }, s.id),
      h('td', null, stateBadge(s.state)),
      h('td', null, s.method),
      h('td', null, metricText(s.metric)),
      h('td', null, countsText(s.counts)),
      h('td', { class: 'num' }, s.best ? fmtNum(s.best.value) : '')))))));
}

async function fetchTrials(sp) {
  const first = await api(`${sp}/trials?limit=${PAGE}&offset=0`);
  const trials = first.trials;
  while (trials.length < first.total) {
    const more = await api(`${sp}/trials?limit=${PAGE}&offset=${trials.length}`);
    if (!more.trials.length) break;
    trials.push(...more.trials);
  }
  return trials;
}

export async function renderSweep(root, entity, project, id) {
  const t0 = performance.now();
  const base = `/${enc(entity)}/${enc(project)}`;
  const sp = `${sweepsPath(entity, project)}/${enc(id)}`;
  const params = new URLSearchParams(location.search);
  const [proj, first, firstTrials] = await Promise.all([api(`/projects/${enc(entity)}/${enc(project)}`), api(sp), fetchTrials(sp)]);
  let sweep = first, trials = firstTrials;
  const canEdit = proj.role === 'editor' || proj.role === 'admin';
  let alive = true, timer = null;
  setCrumbs([['projects', '/'], [`${entity}/${project}`, base], ['sweeps', `${base}/sweeps`], [sweep.name || sweep.id]]);

  const head = h('div', { class: 'page-head', id: 'sweep-head' });
  const msg = h('p', { class: 'muted', id: 'sweep-msg', role: 'status' });
  const facts = h('div', { class: 'cards', id: 'sweep-facts' });
  const bestChart = new Chart({ title: 'best', label: 'best so far', xLabel: 'trial', xFmt: (v) => (Number.isInteger(v) ? String(v) : '') });
  bestChart.el.id = 'sweep-best-chart';
  const pc = new ParallelPlot({ onBrush: () => {
    const a = performance.now();
    saveBrushes();
    applySelection();
    // A brush's cost: the plot's last redraw and the selection's (scatter, table).
    window.__wb.sweep.brushMs = pc.drawMs + performance.now() - a;
  } });
  const scatter = new ScatterPlot();
  const selBar = h('div', { class: 'toolbar', id: 'sweep-selection' });
  const legend = h('div', { class: 'toolbar small muted', id: 'sweep-legend' });
  const sxSel = h('select', { id: 'scatter-x' });
  const impWrap = h('div', { class: 'table-wrap', id: 'sweep-importance-wrap' });
  const onlyBox = h('input', { type: 'checkbox', id: 'only-selected', checked: params.get('only') === '1' });
  const tableWrap = h('div', { class: 'table-wrap' });
  const tablePager = h('div', { class: 'pager', id: 'trials-pager' });
  root.append(head, msg, facts,
    h('h2', null, 'Best so far'), h('div', { class: 'charts one' }, bestChart.el),
    h('h2', null, 'Parameters → metric'), legend, pc.el, selBar,
    h('div', { class: 'sweep-two' },
      h('section', null, h('h2', null, 'Scatter'), h('div', { class: 'toolbar' }, h('label', null, 'Parameter ', sxSel)), scatter.el),
      h('section', null, h('h2', null, 'Parameter importance'), impWrap)),
    h('h2', null, 'Trials'), h('div', { class: 'toolbar' }, h('label', null, onlyBox, ' only the selected trials')), tableWrap, tablePager);

  // Derived data; rebuilt on every poll.
  let pars = [], axisList = [], pos = [], quality = [], sel = new Uint8Array(0);
  const maximize = () => !!(sweep.metric && sweep.metric.goal === 'maximize');
  const metricName = () => (sweep.metric ? sweep.metric.name : null);

  function derive() {
    pars = sweepParams(sweep.spec, trials);
    const raw = pars.map((p) => trials.map((t) => paramValue(t, p.name)));
    axisList = pars.map((p, j) => makeAxis(p.name, raw[j], p));
    if (metricName()) {
      raw.push(trials.map((t) => t.value));
      const m = makeAxis(metricName(), raw[raw.length - 1], {});
      m.metric = true;
      axisList.push(m);
    }
    pos = axisList.map((a, j) => Float64Array.from(raw[j], (v) => { const p = a.pos(v); return p === null ? NaN : p; }));
    const mAxis = metricName() ? axisList[axisList.length - 1] : null;
    quality = trials.map((t, i) => (mAxis && Number.isFinite(pos[pos.length - 1][i]) ? (maximize() ? pos[pos.length - 1][i] : 1 - pos[pos.length - 1][i]) : NaN));
  }

  // ---- header, facts, controls ----
  function renderHead() {
    clear(head);
    head.append(h('h1', { id: 'sweep-name' }, sweep.name || sweep.id), stateBadge(sweep.state),
      h('span', { class: 'muted' }, ` ${sweep.id}`), h('span', { class: 'spacer' }));
    if (canEdit && ACTIONS[sweep.state]) {
      for (const [to, label, title] of ACTIONS[sweep.state]) {
        const b = h('button', { type: 'button', id: `sweep-${label.toLowerCase()}`, title, class: to === 'canceled' ? 'danger' : null });
        b.textContent = label;
        b.addEventListener('click', async () => {
          // Cancel stops running trials: it asks for a second click.
          if (to === 'canceled' && b.dataset.confirm !== '1') { b.dataset.confirm = '1'; b.textContent = 'Cancel: running trials stop. Sure?'; return; }
          b.disabled = true;
          try {
            sweep = await api(sp, { method: 'PATCH', body: { state: to } });
            msg.className = 'muted';
            msg.textContent = `The sweep is ${sweep.state}.`;
            renderHead(); renderFacts(); schedule();
          } catch (e) {
            msg.className = 'error';
            msg.textContent = errText(e);
            b.disabled = false;
          }
        });
        head.appendChild(b);
      }
    }
    head.dataset.state = sweep.state;
  }

  function renderFacts() {
    clear(facts);
    const cmd = `wb agent ${entity}/${project}/${sweep.id}`;
    const cmdIn = h('input', { type: 'text', id: 'agent-cmd', value: cmd, readonly: true, size: Math.min(60, cmd.length + 2) });
    const copy = h('button', { type: 'button', id: 'agent-copy' }, 'Copy');
    copy.addEventListener('click', () => {
      navigator.clipboard.writeText(cmd).then(() => { copy.textContent = 'Copied'; }, () => { cmdIn.select(); copy.textContent = 'Press Ctrl+C'; });
    });
    const rows = [['method', sweep.method], ['metric', metricText(sweep.metric)], ['trials', countsText(sweep.counts)],
      ['run cap', sweep.run_cap === null || sweep.run_cap === undefined ? 'none' : String(sweep.run_cap)],
      ['created', fmtTime(sweep.created_at)], ['updated', fmtTime(sweep.updated_at)]];
    facts.append(h('section', { class: 'card', id: 'sweep-overview' }, h('h3', null, 'Sweep'), kv(rows),
      h('p', { class: 'agent' }, h('span', { class: 'muted small' }, 'Run trials on any machine: '), cmdIn, ' ', copy)));
    const b = sweep.best;
    const bestCard = h('section', { class: 'card', id: 'sweep-best' }, h('h3', null, 'Best trial'));
    if (b) {
      bestCard.append(h('p', null, h('span', { class: 'big', id: 'best-value' }, fmtNum(b.value)), ' ',
        h('span', { class: 'muted' }, sweep.metric ? sweep.metric.name : ''), ' · trial ', String(b.trial), ' · ',
        h('a', { href: `${base}/runs/${enc(b.run_id)}`, id: 'best-run' }, b.run_id)),
      kv(flatten(b.params || {})));
    } else {
      bestCard.append(h('p', { class: 'muted' }, sweep.metric ? 'No trial has reported the metric yet.' : 'This sweep has no metric.'));
    }
    facts.append(bestCard);
  }

  // ---- best-so-far curve ----
  function drawBest() {
    const b = bestSoFar(trials, maximize());
    if (!b.x.length) { bestChart.el.dataset.state = 'ready'; bestChart.el.dataset.points = '0'; return; }
    bestChart.el.querySelector('.chart-title').textContent = `best ${metricName()} so far (${maximize() ? 'highest' : 'lowest'}) against trial number`;
    bestChart.setData([{ label: 'best so far', color: '#2563eb', x: b.x, y: b.best },
      { label: metricName(), color: '#94a3b8', x: b.x, y: b.value, dots: true }]);
  }

  // ---- brushing and selection ----
  function loadBrushes() {
    pc.brushes.clear();
    for (const s of params.getAll('brush')) {
      const m = /^(-?[\d.]+),(-?[\d.]+),(.+)$/.exec(s);
      if (m) pc.brushes.set(m[3], [Math.max(0, Number(m[1])), Math.min(1, Number(m[2]))]);
    }
  }

  function saveBrushes() {
    params.delete('brush');
    for (const [k, [a, b]] of pc.brushes) params.append('brush', `${a.toFixed(4)},${b.toFixed(4)},${k}`);
    setQuery(params);
  }

  const selectedTrials = () => trials.filter((_, i) => sel[i] === 1);

  function applySelection() {
    sel = pc.sel;
    const chosen = selectedTrials();
    clear(selBar);
    const runs = [...new Set(chosen.filter((t) => t.run_id && t.state !== 'pending').map((t) => t.run_id))];
    selBar.dataset.selected = String(chosen.length);
    if (pc.brushes.size) {
      selBar.append(h('strong', null, `${chosen.length} of ${trials.length} trials selected`),
        runs.length ? h('a', { class: 'button primary', id: 'sweep-compare', href: `${base}/compare?runs=${runs.map(enc).join(',')}` }, `Compare ${runs.length} run${runs.length === 1 ? '' : 's'}`) : null,
        h('button', { type: 'button', id: 'clear-brushes', onclick: () => { pc.brushes.clear(); saveBrushes(); pc.select(); pc.draw(); applySelection(); } }, 'Clear selection'));
    } else {
      selBar.append(h('span', { class: 'muted small' }, 'Drag along any axis to select trials; click an axis to clear its range.'));
    }
    drawScatter();
    renderTable();
  }

  // ---- scatter ----
  function fillScatterChoice() {
    const want = params.get('sx') || sxSel.value;
    clear(sxSel);
    for (const p of pars) sxSel.appendChild(h('option', { value: p.name }, p.name));
    sxSel.value = pars.some((p) => p.name === want) ? want : (pars[0] ? pars[0].name : '');
  }
  sxSel.addEventListener('change', () => { params.set('sx', sxSel.value); setQuery(params); drawScatter(); });

  function drawScatter() {
    const name = sxSel.value;
    if (!name || !metricName()) { scatter.el.hidden = true; return; }
    scatter.el.hidden = false;
    const j = pars.findIndex((p) => p.name === name);
    const mj = axisList.length - 1;
    scatter.setData(axisList[j], axisList[mj], pos[j], pos[mj], quality, sel,
      (i) => `trial ${trials[i].num} · ${name} = ${fmtValue(paramValue(trials[i], name))} · ${metricName()} = ${fmtNum(trials[i].value)}`);
  }

  // ---- importance ----
  function drawImportance() {
    clear(impWrap);
    const n = trials.filter((t) => Number.isFinite(t.value)).length;
    if (!metricName() || n < 5 || !pars.length) {
      impWrap.appendChild(h('p', { class: 'muted empty', id: 'importance-empty' }, metricName()
        ? `Needs at least 5 trials with a value of ${metricName()} (${n} so far).` : 'This sweep has no metric.'));
      return;
    }
    const rows = importance(axisList.slice(0, pars.length), pos.slice(0, pars.length), trials.map((t) => t.value)).sort((a, b) => b.forest - a.forest);
    const bar = (v, cls) => h('span', { class: `imp-bar ${cls}`, style: { width: `${Math.round(Math.max(0, Math.min(1, v)) * 100)}%` } });
    impWrap.append(h('table', { class: 'grid', id: 'sweep-importance' },
      h('thead', null, h('tr', null, h('th', null, 'parameter'), h('th', null, 'importance'), h('th', null, '|correlation|'))),
      h('tbody', null, rows.map((r) => h('tr', { dataset: { param: r.name, forest: r.forest.toFixed(4), corr: r.corr === null ? '' : r.corr.toFixed(4) } },
        h('td', null, r.name),
        h('td', { class: 'imp' }, h('span', { class: 'imp-track' }, bar(r.forest, 'forest')), ` ${(r.forest * 100).toFixed(1)}%`),
        h('td', { class: 'imp' }, h('span', { class: 'imp-track' }, bar(r.corr || 0, 'corr')), r.corr === null ? ' –' : ` ${r.corr.toFixed(2)}`))))),
      h('p', { class: 'muted small empty' }, `Over the ${n} trials with a value. Importance: each parameter's share of the variance `,
        `a random forest of 50 regression trees (fixed seed) removes by its splits. |correlation|: Pearson's |r| with the metric `,
        `(of log10 of the value for log parameters), or for a categorical one the correlation ratio η.`));
  }

  // ---- trials table ----
  const cols = () => [['num', '#'], ['run', 'run'], ['state', 'state'], ...pars.map((p) => [`p:${p.name}`, p.name]),
    ...(metricName() ? [['value', metricName()]] : []), ['duration', 'duration']];
  function sortValue(t, key) {
    if (key === 'num') return t.num;
    if (key === 'run') return t.run_id || '';
    if (key === 'state') return t.state;
    if (key === 'value') return Number.isFinite(t.value) ? t.value : undefined;
    if (key === 'duration') return trialDuration(t) ?? undefined;
    const v = paramValue(t, key.slice(2));
    return v === null ? undefined : v;
  }
  // Sorted over all trials, a page of ROWS rows in the DOM: 1,000 trials
  // cost the page 50 rows. The selection (with only=1) filters before paging.
  function renderTable() {
    const sort = params.get('sort') || 'num';
    const desc = sort.startsWith('-'), key = desc ? sort.slice(1) : sort;
    const brushing = pc.brushes.size > 0, only = onlyBox.checked && brushing;
    const idx = [];
    for (let i = 0; i < trials.length; i++) if (!only || sel[i] === 1) idx.push(i);
    const keyOf = idx.map((i) => sortValue(trials[i], key));
    const at = new Map(idx.map((i, k) => [i, k]));
    idx.sort((a, b) => {
      const x = keyOf[at.get(a)], y = keyOf[at.get(b)];
      if (x === undefined || y === undefined) return x === y ? trials[a].num - trials[b].num : x === undefined ? 1 : -1;
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return (desc ? -c : c) || trials[a].num - trials[b].num;
    });
    const pages = Math.max(1, Math.ceil(idx.length / ROWS));
    const pageNo = Math.min(pages - 1, Math.max(0, parseInt(params.get('tpage') || '0', 10) || 0));
    const headRow = h('tr', null, cols().map(([k, label]) => h('th', { class: 'sortable', dataset: { col: k }, onclick: () => {
      params.set('sort', sort === k ? `-${k}` : k);
      params.delete('tpage');
      setQuery(params);
      renderTable();
    } }, label, sort === k ? ' ▲' : sort === `-${k}` ? ' ▼' : '')));
    const body = h('tbody');
    const best = sweep.best ? sweep.best.trial : null;
    for (const i of idx.slice(pageNo * ROWS, (pageNo + 1) * ROWS)) {
      const t = trials[i];
      const cls = [t.num === best ? 'best' : '', brushing && sel[i] !== 1 ? 'dim' : ''].join(' ').trim();
      body.appendChild(h('tr', { dataset: { num: String(t.num), run: t.run_id || '' }, class: cls || null },
        h('td', { class: 'num' }, String(t.num)),
        h('td', { class: 'name' }, t.run_id && t.state !== 'pending' ? h('a', { href: `${base}/runs/${enc(t.run_id)}` }, t.run_id) : (t.run_id || '')),
        h('td', null, stateBadge(t.state)),
        pars.map((p) => { const v = paramValue(t, p.name); return h('td', { class: typeof v === 'number' ? 'num' : null }, v === undefined ? '' : valueText(v)); }),
        metricName() ? h('td', { class: 'num' }, Number.isFinite(t.value) ? fmtNum(t.value) : '') : null,
        h('td', { class: 'num' }, fmtDuration(trialDuration(t)))));
    }
    clear(tableWrap);
    tableWrap.appendChild(h('table', { class: 'grid', id: 'trials', dataset: { sort, rows: String(idx.length) } }, h('thead', null, headRow), body));
    if (!trials.length) tableWrap.appendChild(h('p', { class: 'muted empty' }, 'No trials yet: start an agent with the command above.'));
    clear(tablePager);
    if (pages > 1) {
      const go = (n) => { if (n) params.set('tpage', String(n)); else params.delete('tpage'); setQuery(params); renderTable(); };
      tablePager.append(h('button', { type: 'button', id: 'trials-prev', disabled: pageNo === 0, onclick: () => go(pageNo - 1) }, '‹ Prev'),
        h('span', { class: 'muted', id: 'trials-page' }, `${pageNo * ROWS + 1}–${Math.min(idx.length, (pageNo + 1) * ROWS)} of ${idx.length}`),
        h('button', { type: 'button', id: 'trials-next', disabled: pageNo + 1 >= pages, onclick: () => go(pageNo + 1) }, 'Next ›'));
    }
  }

  onlyBox.addEventListener('change', () => {
    if (onlyBox.checked) params.set('only', '1'); else params.delete('only');
    params.delete('tpage');
    setQuery(params);
    renderTable();
  });

  function renderLegend() {
    clear(legend);
    if (!metricName()) return;
    legend.append(h('span', null, `colour: ${metricName()}`), h('span', { class: 'scale', style: { background: colorGradient() } }),
      h('span', null, maximize() ? 'worst → best (higher is better)' : 'worst → best (lower is better)'));
  }

  // Each part's drawing time of the last drawAll, in ms (the bench prints them).
  const parts = {};
  function drawAll() {
    const part = (name, f) => { const a = performance.now(); f(); parts[name] = Math.round((performance.now() - a) * 10) / 10; };
    part('derive', derive);
    part('header', () => { renderHead(); renderFacts(); renderLegend(); });
    part('best', drawBest);
    loadBrushes();
    part('parallel', () => pc.setData(axisList, pos, quality, trials.length));
    part('scatter_table', () => { fillScatterChoice(); applySelection(); });
    part('importance', drawImportance);
  }

  // ---- polling while trials can still change ----
  function schedule() {
    clearTimeout(timer);
    const c = sweep.counts || {};
    // A stopped sweep's running trials still report: poll until they are done.
    const busy = ACTIVE.has(sweep.state) || (c.pending || 0) + (c.leased || 0) + (c.running || 0) > 0;
    if (alive && busy) timer = setTimeout(poll, POLL_MS);
  }
  async function poll() {
    try {
      const [s, t] = await Promise.all([api(sp), fetchTrials(sp)]);
      if (!alive) return;
      // Redraw only what changed: an idle sweep costs a poll, not a page.
      const sig = JSON.stringify([s, t]);
      if (sig !== lastSig) { lastSig = sig; sweep = s; trials = t; drawAll(); }
    } catch (e) {
      if (!alive) return;
      msg.className = 'error';
      msg.textContent = `Could not refresh: ${errText(e)}`;
    }
    schedule();
  }

  parts.fetch = Math.round((performance.now() - t0) * 10) / 10;
  let lastSig = JSON.stringify([sweep, trials]);
  drawAll();
  const ms = performance.now() - t0;
  root.dataset.sweepDrawn = String(Math.round(ms));
  // The frame that shows it all: its time since navigation start (the bench's figure).
  requestAnimationFrame(() => setTimeout(() => {
    if (!alive) return;
    window.__wb.sweep.paintedAt = performance.now();
    root.dataset.sweepPainted = String(Math.round(performance.now()));
  }, 0));
  window.__wb.sweep = {
    drawnMs: ms, parts, startedAt: t0,
    // The plot's axes as drawn, for tests: [{name, x, top, bottom, log, cat}].
    axes: () => axisList.map((a, j) => ({ name: a.name, x: pc.geom.xs[j], top: pc.geom.top, bottom: pc.geom.bottom, log: a.log, cat: a.cat,
      min: a.min, max: a.max })),
  };
  schedule();
  const onResize = () => { bestChart.resize(); pc.draw(); scatter.draw(); };
  window.addEventListener('resize', onResize);
  return () => { alive = false; clearTimeout(timer); window.removeEventListener('resize', onResize); bestChart.destroy(); };
}
