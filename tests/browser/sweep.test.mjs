// sweep.test.mjs — the sweep pages in a real browser against a real server:
// a sweep created and driven through the API as agents drive one (its
// trials' runs made through libwb by wb_fill), the project's sweeps list,
// the sweep page (trials table, best run, parallel coordinates with a
// brush on a linear and on a log axis, the compare link of the brushed
// runs), pause and resume through the buttons, and a viewer without them.
// Run by ctest (test_browser_sweep). Signs in with a password (lib.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, newPage, open, shot, noErrors, noXss, fillSweep, waitFor } from './lib.mjs';
import { forestImportance, pearson, makeAxis, bestSoFar } from '../../web/src/sweep_data.js';

const PROJECT = 'sw';
const VIEWER = { name: 'vera', password: 'quiet harbour seventeen' };
const XSS_NAME = '<img src=x onerror="window.__xss=1"> lr search';
const SPEC = {
  name: XSS_NAME,
  method: 'random',
  seed: 3,
  run_cap: 10, // more than the test issues: the sweep stays running
  metric: { name: 'val/acc', goal: 'maximize' },
  parameters: {
    lr: { distribution: 'log_uniform_values', min: 1e-4, max: 0.1 },
    batch: { values: [32, 64, 128] },
    optimizer: { parameters: { name: { values: ['sgd', 'adam'] } } },
  },
};
const N = 8;
// The metric a trial reports: best near lr = 10^-2.5, batch 128 a little worse.
const accOf = (p) => Math.round((0.9 - 0.05 * Math.abs(Math.log10(p.lr) + 2.5) - (p.batch === 128 ? 0.02 : 0)
  + (p.optimizer.name === 'adam' ? 0.004 : 0)) * 1e6) / 1e6;

let srv, sweep;
const contexts = [];
async function browser() {
  const ctx = await launch(srv.root);
  contexts.push(ctx);
  return ctx;
}

before(async () => {
  srv = await startServer();
  assert.equal((await srv.api(`/projects/team/${PROJECT}`, { method: 'PUT', body: { visibility: 'private' } })).status, 200);
  const u = await srv.api('/users', { method: 'POST', body: { name: VIEWER.name } });
  assert.equal(u.status, 201);
  const token = new URLSearchParams(u.json.setup_path.split('?')[1]).get('token');
  const setup = await fetch(`${srv.url}/api/v1/auth/setup`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token, password: VIEWER.password }) });
  assert.equal(setup.status, 200);
  assert.equal((await srv.api(`/projects/team/${PROJECT}/members/${VIEWER.name}`, { method: 'PUT', body: { role: 'viewer' } })).status, 200);
  sweep = await fillSweep(srv, PROJECT, SPEC, N, accOf);
  // The server reads each trial's value from its run's summary: wait until all are there.
  await waitFor(async () => {
    const r = await srv.api(`/projects/team/${PROJECT}/sweeps/${sweep.id}/trials?limit=100&offset=0`);
    return r.status === 200 && r.json.trials.filter((t) => t.state === 'finished' && typeof t.value === 'number').length === N;
  }, 20000, 'every trial finished with its value');
});

after(async () => {
  for (const c of contexts) await c.close();
  if (srv) await srv.stop();
});

// Positions along an axis as the page should draw them: linear, or log10 for log parameters.
function positions(values, log) {
  const f = log ? Math.log10 : (x) => x;
  const lo = Math.min(...values.map(f)), hi = Math.max(...values.map(f));
  return values.map((v) => (f(v) - lo) / (hi - lo));
}

// The midpoint of the widest gap between consecutive sorted positions whose
// both sides hold one of `among` (positions): a brush edge no pixel error moves across.
function widestGap(all, among) {
  const s = [...all].sort((a, b) => a - b);
  const lo = Math.min(...among), hi = Math.max(...among);
  let best = null;
  for (let i = 0; i + 1 < s.length; i++) {
    if (s[i] < lo || s[i + 1] > hi) continue;
    if (!best || s[i + 1] - s[i] > best[1] - best[0]) best = [s[i], s[i + 1]];
  }
  return best;
}

// Drag along axis `name` of the parallel plot from position p0 to p1.
async function brush(page, name, p0, p1) {
  const ax = (await page.evaluate(() => window.__wb.sweep.axes())).find((a) => a.name === name);
  await page.locator('#sweep-parallel').scrollIntoViewIfNeeded();
  const box = await page.locator('#sweep-parallel').boundingBox();
  const y = (p) => box.y + ax.bottom - p * (ax.bottom - ax.top);
  await page.mouse.move(box.x + ax.x, y(p0));
  await page.mouse.down();
  await page.mouse.move(box.x + ax.x, y(p1), { steps: 6 });
  await page.mouse.up();
  return ax;
}

// The brushes the page keeps in its URL once there are n of them: name → [p0, p1].
async function urlBrushes(page, n) {
  await page.waitForFunction((k) => new URL(location.href).searchParams.getAll('brush').length === k, n);
  const out = new Map();
  for (const b of new URL(await page.evaluate(() => location.href)).searchParams.getAll('brush')) {
    const [a, c, ...name] = b.split(',');
    out.set(name.join(','), [Number(a), Number(c)]);
  }
  return out;
}

test('the importance and curve arithmetic (sweep_data.js, in node)', () => {
  assert.ok(Math.abs(pearson([1, 2, 3, 4], [2, 4, 6, 8]) - 1) < 1e-12);
  assert.ok(Math.abs(pearson([1, 2, 3, 4], [8, 6, 4, 2]) + 1) < 1e-12);
  assert.equal(pearson([1, 1, 1], [1, 2, 3]), null);
  // y depends on feature 0 only; feature 1 is noise: the forest says so, the same way twice.
  const a = [], b = [], y = [];
  for (let i = 0; i < 300; i++) { a.push((i * 37) % 101); b.push((i * 53) % 97); y.push(Math.sin(a[i] / 16)); }
  const imp = forestImportance([a, b], y, { seed: 1 });
  assert.ok(imp[0] > 0.9, `informative feature importance ${imp[0]}`);
  assert.deepEqual(forestImportance([a, b], y, { seed: 1 }), imp);
  const lr = makeAxis('lr', [1e-4, 1e-3, 1e-1], { log: true });
  assert.ok(lr.log && Math.abs(lr.pos(1e-3) - 1 / 3) < 1e-12);
  const cat = makeAxis('batch', [128, 32, 64], { cat: true });
  assert.deepEqual(cat.cats, [32, 64, 128]);
  assert.deepEqual(bestSoFar([{ num: 1, value: 3 }, { num: 0, value: 5 }, { num: 2, value: 1 }], false).best, [5, 3, 1]);
});

test('sweeps list, sweep page, brushing, compare, pause and resume', async (t) => {
  const page = await newPage(await browser(), srv);
  const api = (await srv.api(`/projects/team/${PROJECT}/sweeps/${sweep.id}`)).json;
  assert.equal(api.state, 'running');
  const trials = (await srv.api(`/projects/team/${PROJECT}/sweeps/${sweep.id}/trials?limit=100&offset=0`)).json.trials;
  const best = [...trials].sort((x, y) => y.value - x.value)[0];

  // The project page links its sweeps; the list links the sweep's permanent URL.
  await open(page, srv.url, `/team/${PROJECT}`);
  await page.click('#sweeps-link');
  await page.waitForSelector(`#sweeps tr[data-sweep="${sweep.id}"]`);
  assert.match(await page.textContent(`#sweeps tr[data-sweep="${sweep.id}"]`), /lr search.*running.*random.*val\/acc/s);
  await page.click(`#sweeps tr[data-sweep="${sweep.id}"] a`);
  await page.waitForSelector('[data-sweep-drawn]');
  assert.equal(new URL(page.url()).pathname, `/team/${PROJECT}/sweeps/${sweep.id}`);
  // Opened directly too (the server answers the path with the app).
  await open(page, srv.url, `/team/${PROJECT}/sweeps/${sweep.id}`);
  await page.waitForSelector('[data-sweep-drawn]');

  // Header: name as text, state, the agent command; the best trial with its run.
  assert.equal(await page.textContent('#sweep-name'), XSS_NAME);
  assert.equal(await page.getAttribute('#sweep-head', 'data-state'), 'running');
  assert.equal(await page.inputValue('#agent-cmd'), `wb agent team/${PROJECT}/${sweep.id}`);
  assert.equal(await page.textContent('#best-run'), best.run_id);
  assert.ok(Math.abs(Number(await page.textContent('#best-value')) - best.value) < 1e-4);
  // Trials table: one row per trial, the best marked, parameters and metric as columns.
  const rows = await page.$$eval('#trials tbody tr', (trs) => trs.map((tr) => [Number(tr.dataset.num), tr.dataset.run, tr.classList.contains('best')]));
  assert.deepEqual(rows, trials.map((t) => [t.num, t.run_id, t.num === best.num]));
  const heads = await page.$$eval('#trials thead th', (ths) => ths.map((th) => th.dataset.col));
  // Parameters in the order of the server's normalised spec (keys sorted).
  assert.deepEqual(heads, ['num', 'run', 'state', 'p:batch', 'p:lr', 'p:optimizer.name', 'value', 'duration']);
  // Sorting by the metric, descending: the best first.
  await page.click('#trials th[data-col=value]');
  await page.click('#trials th[data-col=value]');
  await page.waitForSelector('#trials[data-sort="-value"]');
  assert.equal(await page.getAttribute('#trials tbody tr:first-child', 'data-num'), String(best.num));
  // The best-so-far curve, the plots and the importance table are drawn.
  await page.waitForSelector('#sweep-best-chart[data-state=ready]');
  assert.equal(await page.getAttribute('#sweep-best-chart', 'data-points'), String(N));
  assert.equal(await page.getAttribute('#sweep-parallel', 'data-lines'), String(N));
  assert.equal(await page.getAttribute('#sweep-scatter', 'data-points'), String(N));
  assert.equal(await page.$$eval('#sweep-importance tbody tr', (r) => r.length), 3);
  const axes = await page.evaluate(() => window.__wb.sweep.axes());
  assert.deepEqual(axes.map((a) => [a.name, a.log, a.cat]),
    [['batch', false, true], ['lr', true, false], ['optimizer.name', false, true], ['val/acc', false, false]]);

  // Brush the metric axis from the top down past the widest gap: the best trials.
  const accPos = positions(trials.map((t) => t.value), false);
  const g1 = widestGap(accPos, accPos);
  await brush(page, 'val/acc', 1.01, (g1[0] + g1[1]) / 2);
  const lrPos = positions(trials.map((t) => t.params.lr), true);
  const inside = (b, p) => p >= b[0] - 1e-4 && p <= b[1] + 1e-4;
  let ub = await urlBrushes(page, 1);
  const sel1 = trials.filter((_, i) => inside(ub.get('val/acc'), accPos[i]));
  assert.ok(sel1.length > 0 && sel1.length < N, `first brush selects ${sel1.length}`);
  await page.waitForSelector(`#sweep-selection[data-selected="${sel1.length}"]`);
  // Then the log axis (lr), from the bottom up to the widest gap among the selected.
  const among = trials.map((_, i) => i).filter((i) => sel1.includes(trials[i])).map((i) => lrPos[i]);
  if (among.length >= 2) {
    const g2 = widestGap(lrPos, among);
    await brush(page, 'lr', -0.01, (g2[0] + g2[1]) / 2);
  }
  ub = await urlBrushes(page, among.length >= 2 ? 2 : 1);
  const sel = trials.filter((_, i) => [...ub].every(([name, b]) => inside(b, name === 'lr' ? lrPos[i] : accPos[i])));
  if (among.length >= 2) assert.ok(sel.length > 0 && sel.length < sel1.length, `second brush narrows ${sel1.length} to ${sel.length}`);
  await page.waitForSelector(`#sweep-selection[data-selected="${sel.length}"]`);
  assert.equal(await page.getAttribute('#sweep-parallel', 'data-selected'), String(sel.length));
  assert.equal(await page.$$eval('#trials tbody tr:not(.dim)', (r) => r.length), sel.length);
  const href = await page.getAttribute('#sweep-compare', 'href');
  const cmp = new URL(href, srv.url);
  assert.equal(cmp.pathname, `/team/${PROJECT}/compare`);
  assert.deepEqual(cmp.searchParams.get('runs').split(',').sort(), sel.map((t) => t.run_id).sort());
  t.diagnostic(`brushes select ${sel1.length}, then ${sel.length} of ${N} trials`);
  await shot(page, 'sweep');
  // The brushes survive a reload (they live in the URL).
  await page.reload();
  await page.waitForSelector(`#sweep-selection[data-selected="${sel.length}"]`);
  // Compare opens the existing compare view of exactly those runs.
  await page.click('#sweep-compare');
  await page.waitForSelector('#legend .legend-item');
  assert.deepEqual((await page.$$eval('#legend .legend-item', (a) => a.map((x) => x.dataset.run))).sort(), sel.map((t) => t.run_id).sort());

  // Pause with the button: the server's state changes; then resume.
  await open(page, srv.url, `/team/${PROJECT}/sweeps/${sweep.id}`);
  await page.click('#sweep-pause');
  await page.waitForSelector('#sweep-head[data-state=paused]');
  assert.equal((await srv.api(`/projects/team/${PROJECT}/sweeps/${sweep.id}`)).json.state, 'paused');
  assert.equal(await page.$('#sweep-pause'), null);
  await page.click('#sweep-resume');
  await page.waitForSelector('#sweep-head[data-state=running]');
  assert.equal((await srv.api(`/projects/team/${PROJECT}/sweeps/${sweep.id}`)).json.state, 'running');
  await noXss(page);
  noErrors(page);
  await page.close();
});

test('a viewer reads the sweep page without the controls, and cannot pause it', async () => {
  const page = await newPage(await browser(), { ...srv, as: VIEWER });
  await open(page, srv.url, `/team/${PROJECT}/sweeps/${sweep.id}`);
  await page.waitForSelector('[data-sweep-drawn]');
  assert.equal(await page.$$eval('#trials tbody tr', (r) => r.length), N);
  assert.equal(await page.textContent('#settings-link'), VIEWER.name);
  for (const sel of ['#sweep-pause', '#sweep-resume', '#sweep-stop', '#sweep-cancel'])
    assert.equal(await page.$(sel), null, `a viewer sees ${sel}`);
  // The server agrees: the same request with the viewer's session is refused.
  const cookie = await srv.login(VIEWER.name, VIEWER.password);
  const s = await (await fetch(`${srv.url}/api/v1/auth/session`, { headers: { Cookie: `wb_session=${cookie}` } })).json();
  const r = await fetch(`${srv.url}/api/v1/projects/team/${PROJECT}/sweeps/${sweep.id}`, { method: 'PATCH',
    headers: { Cookie: `wb_session=${cookie}`, 'X-CSRF-Token': s.csrf, 'Content-Type': 'application/json' }, body: JSON.stringify({ state: 'paused' }) });
  assert.equal(r.status, 403);
  assert.equal((await srv.api(`/projects/team/${PROJECT}/sweeps/${sweep.id}`)).json.state, 'running');
  await noXss(page);
  noErrors(page);
  await page.close();
});

test('a grid sweep without a metric, its trials still leased: rows, no curve or importance, values as text; stop and cancel', async () => {
  const spec = { method: 'grid', parameters: { act: { values: ['<img src=x onerror="window.__xss=1">', 'relu'] }, depth: { values: [2, 4] } } };
  const made = await srv.api(`/projects/team/${PROJECT}/sweeps`, { method: 'POST', body: spec });
  assert.equal(made.status, 201);
  const id = made.json.id;
  for (let i = 0; i < 2; i++)
    assert.equal((await srv.api(`/projects/team/${PROJECT}/sweeps/${id}/next`, { method: 'POST', body: { agent: 'browser-test:9' } })).status, 200);
  const page = await newPage(await browser(), srv);
  await open(page, srv.url, `/team/${PROJECT}/sweeps/${id}`);
  await page.waitForSelector('[data-sweep-drawn]');
  assert.equal(await page.textContent('#sweep-name'), id, 'a sweep without a name is called by its id');
  const rows = await page.$$eval('#trials tbody tr', (trs) => trs.map((tr) => tr.querySelector('.badge').textContent));
  assert.deepEqual(rows, ['leased', 'leased']);
  assert.deepEqual(await page.$$eval('#trials thead th', (ths) => ths.map((th) => th.dataset.col)),
    ['num', 'run', 'state', 'p:act', 'p:depth', 'duration']);
  assert.match(await page.textContent('#trials tbody'), /<img src=x onerror="window.__xss=1">|relu/);
  assert.match(await page.textContent('#importance-empty'), /no metric/);
  assert.match(await page.textContent('#sweep-best'), /no metric/);
  assert.equal(await page.getAttribute('#sweep-best-chart', 'data-points'), '0');
  assert.equal(await page.getAttribute('#sweep-parallel', 'data-lines'), '2');
  // Stop, then cancel (which asks twice): the server's state follows; a canceled sweep has no buttons.
  const state = async () => (await srv.api(`/projects/team/${PROJECT}/sweeps/${id}`)).json.state;
  await page.click('#sweep-stop');
  await page.waitForSelector('#sweep-head[data-state=stopped]');
  assert.equal(await state(), 'stopped');
  assert.deepEqual(await page.$$eval('#sweep-head button', (b) => b.map((x) => x.id)), ['sweep-cancel']);
  await page.click('#sweep-cancel');
  assert.match(await page.textContent('#sweep-cancel'), /Sure\?/);
  assert.equal(await state(), 'stopped', 'the first click only asks');
  await page.click('#sweep-cancel');
  await page.waitForSelector('#sweep-head[data-state=canceled]');
  assert.equal(await state(), 'canceled');
  assert.equal(await page.$('#sweep-head button'), null);
  await noXss(page);
  noErrors(page);
  await page.close();
});
