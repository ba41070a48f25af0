// group.js — the group page /<entity>/<project>/groups/<group>: one
// distributed job, its ranks and its metrics aggregated across them.
//
// The server computes the aggregates (mean, min, max, std, count per step or
// bucket, see /groups/<g>/history); a chart draws the mean with the min..max
// band, or, with overlay=1, every rank's own line. The ranks table is the
// straggler view: per rank its host, state, last step, when it logged it and
// its step rate, the rank furthest behind highlighted. View state in the
// query: overlay=1, m=<metric name filter>. Polls every 2 s while running.
import { h, clear, fmtNum, fmtTime, stateBadge, runColor } from './dom.js';
import { api, enc } from './api.js';
import { setQuery, setCrumbs } from './nav.js';
import { Chart } from './chart.js';

const BUCKETS = 1000;
const POLL_MS = 2000;

export async function renderGroup(root, entity, project, group) {
  const base = `/${enc(entity)}/${enc(project)}`;
  const gp = `/projects/${enc(entity)}/${enc(project)}/groups/${enc(group)}`;
  const params = new URLSearchParams(location.search);
  let alive = true;
  let timer = null;
  const charts = new Map();

  setCrumbs([['projects', '/'], [`${entity}/${project}`, base], [`group ${group}`]]);
  const head = h('div', { class: 'run-head' });
  const ranksBox = h('div', { class: 'card', id: 'ranks' });
  const controls = h('div', { class: 'toolbar chart-controls' });
  const grid = h('div', { class: 'charts', id: 'charts' });
  root.append(head, h('h2', null, 'Ranks'), ranksBox, h('h2', null, 'Metrics across ranks'), controls, grid);

  const overlay = h('input', { type: 'checkbox', id: 'overlay', checked: params.get('overlay') === '1',
    onchange: () => { params.set('overlay', overlay.checked ? '1' : '0'); setQuery(params); drawAll(); } });
  const filter = h('input', { type: 'search', id: 'metric-filter', placeholder: 'filter metrics', value: params.get('m') || '',
    oninput: () => { params.set('m', filter.value); setQuery(params); layout(); } });
  controls.append(h('label', null, overlay, ' overlay ranks'), ' ', filter);

  let g = await api(gp);
  let keys = await metricKeys(g);

  function renderHead() {
    clear(head);
    head.append(h('h1', { id: 'group-name' }, group), stateBadge(g.state),
      h('span', { class: 'muted' }, ` ${g.runs} ranks: ${g.running} running, ${g.finished} finished, ${g.failed} failed, ${g.crashed} crashed`));
  }

  function renderRanks() {
    clear(ranksBox);
    const body = h('tbody');
    for (const r of g.ranks) {
      const slow = r.id === g.straggler;
      body.appendChild(h('tr', { class: slow ? 'straggler' : null, dataset: { rank: String(r.rank) } },
        h('td', null, r.rank === null ? '–' : String(r.rank)),
        h('td', null, h('a', { href: `${base}/runs/${enc(r.id)}` }, r.name || r.id)),
        h('td', null, r.host || '–'),
        h('td', null, stateBadge(r.state)),
        h('td', { class: 'num' }, r.last_step === null ? '–' : String(r.last_step)),
        h('td', null, r.last_step_time === null ? '–' : fmtTime(r.last_step_time)),
        h('td', { class: 'num' }, r.step_rate === null ? '–' : `${fmtNum(r.step_rate)}/s`),
        h('td', null, slow ? 'slowest' : '')));
    }
    ranksBox.appendChild(h('table', { class: 'grid', id: 'ranks-table' },
      h('thead', null, h('tr', null, ...['rank', 'run', 'host', 'state', 'last step', 'last step at', 'step rate', ''].map((c) => h('th', null, c)))),
      body));
  }

  // Metrics of the group: those of its ranks, without the derived series.
  async function metricKeys(grp) {
    const seen = new Set();
    await Promise.all(grp.ranks.map(async (r) => {
      const { metrics } = await api(`/projects/${enc(entity)}/${enc(project)}/runs/${enc(r.id)}/metrics`);
      for (const m of metrics) if (!m.key.startsWith('_') && !m.key.startsWith('system/')) seen.add(m.key);
    }));
    return [...seen].sort();
  }

  function layout() {
    const f = filter.value.toLowerCase();
    for (const key of keys) {
      if (!charts.has(key)) {
        const c = new Chart({ title: key, xLabel: 'step' });
        charts.set(key, c);
        grid.appendChild(c.el);
      }
      charts.get(key).el.style.display = !f || key.toLowerCase().includes(f) ? '' : 'none';
    }
    drawAll();
  }

  async function draw(key, chart) {
    if (overlay.checked) {
      const lines = await Promise.all(g.ranks.map(async (r, i) => {
        try {
          const d = await api(`/projects/${enc(entity)}/${enc(project)}/runs/${enc(r.id)}/history?key=${enc(key)}&buckets=${BUCKETS}`);
          return { label: `rank ${r.rank === null ? r.id : r.rank}`, color: runColor(i), x: d.step, y: d.last };
        } catch {
          return null; /* this rank has no such metric */
        }
      }));
      chart.setData(lines.filter(Boolean));
      window.__wb.charts[key] = { overlay: lines.filter(Boolean).map((l) => ({ label: l.label, steps: l.x, last: l.y })),
        plotted: chart.u.series.map((x) => x.label) };
    } else {
      const d = await api(`${gp}/history?key=${enc(key)}&buckets=${BUCKETS}`);
      chart.el.dataset.ranks = String(d.ranks);
      chart.setData([{ label: `mean of ${d.ranks}`, x: d.step, y: d.mean, min: d.min, max: d.max }]);
      window.__wb.charts[key] = { steps: d.step, mean: d.mean, min: d.min, max: d.max, ranks: d.ranks };
    }
  }

  function drawAll() {
    for (const [key, chart] of charts) {
      if (chart.el.style.display === 'none') continue;
      draw(key, chart).catch((e) => { chart.el.dataset.state = 'error'; chart.el.title = String(e.message); });
    }
  }

  async function poll() {
    if (!alive) return;
    try {
      g = await api(gp);
      const k = await metricKeys(g);
      if (k.join('\n') !== keys.join('\n')) keys = k;
      renderHead();
      renderRanks();
      layout();
    } catch { /* keep the last view; the next poll retries */ }
    if (alive && g.state === 'running') timer = setTimeout(poll, POLL_MS);
  }

  renderHead();
  renderRanks();
  layout();
  if (g.state === 'running') timer = setTimeout(poll, POLL_MS);
  const onResize = () => { for (const c of charts.values()) c.resize(); };
  window.addEventListener('resize', onResize);
  return () => {
    alive = false;
    clearTimeout(timer);
    window.removeEventListener('resize', onResize);
    for (const c of charts.values()) c.destroy();
  };
}
