// ui.test.mjs — the web UI in a real browser against a real server filled
// by the real SDK. Run by ctest (test_browser) as `node --test`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, newPage, open, waitFor, WB_FILL } from './lib.mjs';

const SHOTS = process.env.WB_SCREENSHOTS_DIR;
let srv, ctx, runs, xssId;
const P = '/projects/team/demo';

function raw(url, method, path) {
  // node's http keeps the path as given: no "../" normalisation.
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function noErrors(page) {
  assert.deepEqual(page.errors, [], 'console errors');
  assert.deepEqual(page.dialogs, [], 'dialogs');
}

async function noXss(page) {
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'an XSS payload executed');
  assert.equal(await page.evaluate(() => document.querySelectorAll('#app script, #app img').length), 0);
}

async function shot(page, name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

before(async () => {
  srv = await startServer();
  runs = srv.fill('demo', 'demo', '8', '120');
  xssId = runs[runs.length - 1].id;
  ctx = await launch(srv.root);
});

after(async () => {
  if (ctx) await ctx.close();
  if (srv) await srv.stop();
});

test('static files: SPA fallback, content types, caching, no traversal', async () => {
  for (const p of ['/', '/team/demo', '/team/demo/runs/abc', '/team/demo/compare']) {
    const r = await raw(srv.url, 'GET', p);
    assert.equal(r.status, 200, p);
    assert.match(r.headers['content-type'], /^text\/html/);
    assert.equal(r.headers['cache-control'], 'no-cache');
    assert.match(r.headers['content-security-policy'], /script-src 'self'/);
    assert.match(r.body, /<div id="app"|<main id="app">/);
  }
  const index = (await raw(srv.url, 'GET', '/')).body;
  const js = /src="(\/assets\/[^"]+\.js)"/.exec(index)[1];
  const css = /href="(\/assets\/[^"]+\.css)"/.exec(index)[1];
  const a = await raw(srv.url, 'GET', js);
  assert.equal(a.status, 200);
  assert.match(a.headers['content-type'], /^text\/javascript/);
  assert.match(a.headers['cache-control'], /immutable/);
  assert.match((await raw(srv.url, 'GET', css)).headers['content-type'], /^text\/css/);
  for (const p of ['/assets/../../../../etc/passwd', '/assets/..%2f..%2f..%2fetc%2fpasswd', '/assets/%2e%2e/%2e%2e/etc/passwd',
    '/assets/.hidden', '/assets/', '/assets/nope.js']) {
    const r = await raw(srv.url, 'GET', p);
    assert.equal(r.status, 404, p);
    assert.doesNotMatch(r.body, /root:/);
  }
  const t = await raw(srv.url, 'GET', '/../../../../etc/passwd');
  assert.doesNotMatch(t.body, /root:/);
  const api = await raw(srv.url, 'GET', '/api/v2/projects');
  assert.equal(api.status, 404);
  assert.match(api.headers['content-type'], /application\/json/);
  assert.equal((await raw(srv.url, 'POST', '/team/demo')).status, 405);
  assert.equal((await raw(srv.url, 'GET', '/api/v1/keys')).status, 401);
});

test('api: PATCH a run, history of many runs', async () => {
  const id = runs[0].id;
  let r = await srv.api(`${P}/runs/${id}`, { method: 'PATCH', body: { name: 'renamed', notes: 'n1', tags: ['baseline', 'x'] } });
  assert.equal(r.status, 200);
  assert.equal(r.json.name, 'renamed');
  assert.deepEqual(r.json.tags, ['baseline', 'x']);
  assert.equal(r.json.state, 'finished', 'PATCH does not resume the run');
  r = await srv.api(`${P}/runs/${id}`);
  assert.equal(r.json.notes, 'n1');
  assert.equal((await srv.api(`${P}/runs/${id}`, { method: 'PATCH', body: { state: 'running' } })).status, 400);
  assert.equal((await srv.api(`${P}/runs/${id}`, { method: 'PATCH', body: { name: '' } })).status, 400);
  assert.equal((await srv.api(`${P}/runs/nosuchrun`, { method: 'PATCH', body: { name: 'a' } })).status, 404);
  r = await srv.api(`${P}/runs/${id}`, { method: 'PATCH', body: { name: 'run-00', notes: 'first try', tags: ['sweep', 'small'] } });
  assert.equal(r.status, 200);

  const ids = runs.map((x) => x.id);
  const m = await srv.api(`${P}/history?runs=${ids.join(',')},missing1&key=loss&buckets=50&include=run`);
  assert.equal(m.status, 200);
  assert.equal(m.json.runs.length, ids.length + 1);
  for (const [i, one] of ids.entries()) {
    const single = await srv.api(`${P}/runs/${one}/history?key=loss&buckets=50`);
    assert.deepEqual(m.json.runs[i].step, single.json.step);
    assert.deepEqual(m.json.runs[i].last, single.json.last);
    assert.equal(m.json.runs[i].run.id, one);
  }
  assert.equal(m.json.runs[ids.length].error, 'not_found');
  assert.equal((await srv.api(`${P}/history?key=loss`)).status, 400);
  assert.equal((await srv.api(`${P}/history?runs=a/b&key=loss`)).status, 400);
  assert.equal((await srv.api(`${P}/history?runs=${ids[0]}&key=loss&include=x`)).status, 400);
});

test('sign in with an API key, then projects', async () => {
  const page = await newPage(ctx);
  await page.goto(`${srv.url}/signin?next=/`);
  await page.waitForSelector('#apikey');
  assert.match(page.url(), /\/signin\?next=/);
  await page.fill('#apikey', 'wrong-key');
  await page.click('button[type=submit]');
  await page.waitForSelector('#signin-msg.error');
  await page.fill('#apikey', srv.key);
  await page.click('button[type=submit]');
  await page.waitForSelector('#projects');
  const text = await page.textContent('#projects');
  assert.match(text, /team\/demo/);
  await shot(page, 'projects');
  // The wrong key's 401 is the one error expected here.
  page.errors = page.errors.filter((e) => !/status of 401/.test(e));
  noErrors(page);
  await page.close();
});

test('runs table: rows, sorting, filters, grouping, shared URL', async () => {
  const page = await newPage(ctx, srv);
  await open(page, srv.url, '/team/demo');
  await page.waitForSelector('#runs tbody tr');
  const api = (await srv.api(`${P}/runs?limit=50`)).json;
  assert.equal(await page.getAttribute('#run-count', 'data-total'), String(api.total));
  let ids = await page.$$eval('#runs tbody tr', (trs) => trs.map((t) => t.dataset.run));
  assert.deepEqual(ids, api.runs.map((r) => r.id), 'default order is newest first, as the API');
  // The XSS run's name is shown as text.
  const names = await page.$$eval('#runs td.name', (tds) => tds.map((t) => t.textContent));
  assert.ok(names.some((n) => n.includes('<script>window.__xss=1</script>')));
  await noXss(page);

  // Sort by name ascending.
  await page.click('th[data-field=name]');
  await page.click('th[data-field=name]');
  await page.waitForFunction(() => /sort=name/.test(location.search) && document.body.dataset.tableReady === location.search);
  ids = await page.$$eval('#runs tbody tr', (trs) => trs.map((t) => t.dataset.run));
  const byName = (await srv.api(`${P}/runs?sort=name&limit=50`)).json.runs.map((r) => r.id);
  assert.deepEqual(ids, byName);

  // State filter.
  await page.selectOption('#state-filter', 'failed');
  await page.waitForFunction(() => /state=failed/.test(location.search) && document.body.dataset.tableReady === location.search);
  ids = await page.$$eval('#runs tbody tr', (trs) => trs.map((t) => t.dataset.run));
  assert.deepEqual(ids, [runs[1].id]);
  await page.selectOption('#state-filter', '');
  await page.waitForFunction(() => !/state=/.test(location.search) && document.body.dataset.tableReady === location.search);

  // Expression filter on config, and text search.
  await page.fill('#expr-filter', 'config.lr>0.05');
  await page.press('#expr-filter', 'Enter');
  await page.waitForFunction(() => /f=config.lr/.test(location.search) && document.body.dataset.tableReady === location.search);
  ids = await page.$$eval('#runs tbody tr', (trs) => trs.map((t) => t.dataset.run)).then((a) => a.sort());
  const expect = (await srv.api(`${P}/runs?filter=${encodeURIComponent('config.lr>0.05')}&sort=name&limit=50`)).json.runs.map((r) => r.id).sort();
  assert.deepEqual(ids, expect);
  assert.ok(expect.length > 0 && expect.length < runs.length);
  await page.fill('#search', 'run-0');
  await page.waitForFunction(() => /q=run-0/.test(location.search) && document.body.dataset.tableReady === location.search);
  const filteredUrl = page.url();
  const filtered = await page.$$eval('#runs tbody tr', (trs) => trs.map((t) => t.dataset.run));
  assert.ok(filtered.length > 0);

  // The shared URL reopens the same view.
  const other = await newPage(ctx, srv);
  await open(other, srv.url, filteredUrl.replace(srv.url, ''));
  await other.waitForFunction(() => document.body.dataset.tableReady === location.search);
  assert.deepEqual(await other.$$eval('#runs tbody tr', (trs) => trs.map((t) => t.dataset.run)), filtered);
  assert.equal(await other.inputValue('#search'), 'run-0');
  noErrors(other);
  await other.close();

  // Group by optimizer: counts per group.
  await open(page, srv.url, '/team/demo?group=config.optimizer.name');
  await page.waitForSelector('#groups tbody tr');
  const groups = await page.$$eval('#groups tbody tr', (trs) => trs.map((t) => [t.dataset.group, t.children[1].textContent]));
  const all = (await srv.api(`${P}/runs?limit=1000`)).json.runs;
  const counts = {};
  for (const r of all) counts[r.config.optimizer.name] = (counts[r.config.optimizer.name] || 0) + 1;
  assert.deepEqual(Object.fromEntries(groups.map(([g, c]) => [g, Number(c)])), counts);

  // Select two runs and mark one as baseline through the UI.
  await open(page, srv.url, '/team/demo?sort=name');
  await page.waitForSelector('#runs tbody tr');
  await page.check(`tr[data-run="${runs[2].id}"] input[type=checkbox]`);
  await page.click('#mark-baseline');
  await waitFor(async () => (await srv.api(`${P}/runs/${runs[2].id}`)).json.tags.includes('baseline'), 10000, 'baseline tag');
  await page.waitForSelector(`tr[data-run="${runs[2].id}"] .tag-baseline`);
  await page.check(`tr[data-run="${runs[3].id}"] input[type=checkbox]`);
  await shot(page, 'runs-table');
  await page.click('#compare-btn');
  await page.waitForFunction(() => location.pathname.endsWith('/compare'));
  await page.waitForSelector('#legend .legend-item');
  assert.equal(await page.locator('#legend .legend-item').count(), 2);
  noErrors(page);
  await page.close();
});

test('run page: charts draw the API data; zoom re-requests; axes; edit; shared URL', async () => {
  const id = runs[4].id;
  const page = await newPage(ctx, srv);
  await open(page, srv.url, `/team/demo/runs/${id}`);
  await page.waitForSelector('.chart[data-key=loss][data-state=ready]');
  const keys = await page.$$eval('.chart', (cs) => cs.map((c) => c.dataset.key).sort());
  assert.deepEqual(keys, ['acc', 'epoch', 'loss', 'val/loss']);
  for (const key of ['loss', 'val/loss']) {
    const api = (await srv.api(`${P}/runs/${id}/history?key=${encodeURIComponent(key)}&buckets=1000`)).json;
    const drawn = await page.evaluate((k) => {
      const c = window.__wb.charts[k];
      return { steps: c.steps, last: c.last, x: c.x, y: c.y };
    }, key);
    assert.deepEqual(drawn.steps, api.step, key);
    assert.deepEqual(drawn.last, api.last, key);
    assert.deepEqual(drawn.x, api.step);
    // uPlot holds the same numbers it was given.
    const plotted = await page.evaluate((k) => {
      const el = [...document.querySelectorAll('.chart')].find((c) => c.dataset.key === k);
      return Number(el.dataset.points);
    }, key);
    assert.equal(plotted, api.step.length);
  }
  const text = await page.textContent('#config');
  assert.match(text, /optimizer\.name/);
  await shot(page, 'run');

  // Drag to zoom on the loss chart: the URL gets the range; data re-requested for it.
  const over = page.locator('.chart[data-key=loss] .u-over');
  await over.scrollIntoViewIfNeeded();
  const box = await over.boundingBox();
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => /zoom=\d+-\d+/.test(location.search));
  const [z0, z1] = /zoom=(\d+)-(\d+)/.exec(page.url()).slice(1).map(Number);
  assert.ok(z0 > 0 && z1 < 119 && z0 < z1, `zoom ${z0}-${z1}`);
  await page.waitForFunction(([a, b]) => {
    const s = window.__wb.charts.loss.steps;
    return s.length && s[0] >= a && s[s.length - 1] <= b;
  }, [z0, z1]);
  const zoomed = (await srv.api(`${P}/runs/${id}/history?key=loss&buckets=1000&start=${z0}&end=${z1}`)).json;
  assert.deepEqual(await page.evaluate(() => window.__wb.charts.loss.steps), zoomed.step);

  // Smoothing, log scale, wall-time axis go into the URL; the URL reopens the same view.
  await page.check('#log-scale');
  await page.selectOption('#x-axis', '_timestamp');
  await page.waitForFunction(() => /x=_timestamp/.test(location.search) && /log=1/.test(location.search));
  await page.waitForFunction(() => window.__wb.charts.loss && window.__wb.charts.loss.x[0] > 1e9);
  await page.selectOption('#x-axis', 'step');
  await page.waitForFunction(() => !/x=/.test(location.search));
  await page.locator('#smoothing').fill('0.6');
  await page.waitForFunction(() => /smooth=0.6/.test(location.search));
  const shared = page.url();
  const other = await newPage(ctx, srv);
  await open(other, srv.url, shared.replace(srv.url, ''));
  await other.waitForSelector('.chart[data-key=loss][data-state=ready]');
  assert.equal(await other.isChecked('#log-scale'), true);
  assert.equal(await other.inputValue('#smoothing'), '0.6');
  const a = await page.evaluate(() => window.__wb.charts.loss.y);
  const b = await other.evaluate(() => window.__wb.charts.loss.y);
  assert.deepEqual(b, a);
  noErrors(other);
  await other.close();

  // Edit name, notes and tags.
  await page.click('#edit-btn');
  await page.fill('#edit-name', 'edited-name');
  await page.fill('#edit-tags', 'baseline, keep');
  await page.fill('#edit-notes', 'looks good');
  await page.click('#edit-save');
  await page.waitForFunction(() => document.querySelector('#run-name').textContent === 'edited-name');
  const r = (await srv.api(`${P}/runs/${id}`)).json;
  assert.equal(r.name, 'edited-name');
  assert.deepEqual(r.tags, ['baseline', 'keep']);
  assert.equal(r.notes, 'looks good');
  noErrors(page);
  await page.close();
});

test('XSS payloads in names, notes, tags, config never execute', async () => {
  const page = await newPage(ctx, srv);
  const xssTag = encodeURIComponent('<img src=x onerror="window.__xss=1">');
  for (const path of ['/', '/team/demo', `/team/demo?group=tags&open=${xssTag}`, `/team/demo/runs/${xssId}`,
    `/team/demo/compare?runs=${xssId},${runs[0].id}`]) {
    await open(page, srv.url, path);
    if (path.includes('open=')) await page.waitForSelector('table.group-runs tbody tr');
    await noXss(page);
  }
  await page.waitForSelector('#config-diff');
  await open(page, srv.url, `/team/demo/runs/${xssId}`);
  const name = await page.textContent('#run-name');
  assert.equal(name, '<script>window.__xss=1</script><img src=x onerror="window.__xss=1">');
  assert.match(await page.textContent('#config'), /<img src=x onerror="window.__xss=1">/);
  assert.match(await page.textContent('#run-notes'), /notes <script>/);
  await noXss(page);
  noErrors(page);
  await page.close();
});

test('compare: overlaid runs, parallel coordinates, config differences', async () => {
  const ids = runs.slice(0, 6).map((r) => r.id);
  const page = await newPage(ctx, srv);
  await open(page, srv.url, `/team/demo/compare?runs=${ids.join(',')}&keys=loss,acc&pc=loss`);
  await page.waitForSelector('.chart[data-key=loss][data-state=ready]');
  assert.equal(await page.locator('#legend .legend-item').count(), 6);
  const api = (await srv.api(`${P}/history?runs=${ids.join(',')}&key=loss&buckets=1000`)).json;
  const drawn = await page.evaluate(() => window.__wb.charts.loss.runs);
  assert.deepEqual(drawn.map((r) => r.id), ids);
  for (const [i, r] of api.runs.entries()) {
    assert.deepEqual(drawn[i].steps, r.step);
    assert.deepEqual(drawn[i].last, r.last);
  }
  const head = await page.$$eval('#config-diff thead th', (ths) => ths.map((t) => t.textContent));
  assert.ok(head.includes('lr') && head.includes('batch_size') && head.includes('optimizer.name'));
  assert.ok(!head.includes('model.layers'), 'equal values are not differences');
  assert.equal(await page.getAttribute('#parallel', 'data-lines'), '6');
  assert.equal(await page.inputValue('#pc-metric'), 'loss');
  await shot(page, 'compare');
  noErrors(page);
  await page.close();
});

test('group page: ranks, straggler, cross-rank aggregates, overlay', async () => {
  const ranks = srv.fill('group', 'dist', '3', '40');
  assert.equal(ranks.length, 3);
  const { groups } = (await srv.api('/projects/team/dist/groups')).json;
  assert.equal(groups.length, 1);
  const g = groups[0].group;
  const page = await newPage(ctx, srv);
  await open(page, srv.url, `/team/dist/groups/${g}`);
  await page.waitForSelector('.chart[data-key=loss][data-state=ready]');
  assert.equal(await page.locator('#ranks-table tbody tr').count(), 3);
  // rank 0 logged the fewest steps: it is the straggler
  assert.equal(await page.getAttribute('#ranks-table tr.straggler', 'data-rank'), '0');
  const api = (await srv.api(`/projects/team/dist/groups/${g}/history?key=loss&buckets=1000`)).json;
  const drawn = await page.evaluate(() => window.__wb.charts.loss);
  assert.equal(drawn.ranks, 3);
  assert.deepEqual(drawn.steps, api.step);
  assert.deepEqual(drawn.mean, api.mean);
  assert.deepEqual(drawn.min, api.min);
  assert.deepEqual(drawn.max, api.max);
  // overlay: one line per rank, and the choice is in the URL
  await page.check('#overlay');
  await page.waitForFunction(() => window.__wb.charts.loss && window.__wb.charts.loss.overlay);
  const lines = await page.evaluate(() => window.__wb.charts.loss.overlay);
  assert.deepEqual(lines.map((l) => l.steps.length), [40, 45, 50]);
  assert.ok(page.url().includes('overlay=1'));
  assert.deepEqual(await page.evaluate(() => window.__wb.charts.loss.plotted), ['step', 'rank 0', 'rank 1', 'rank 2']);
  await page.uncheck('#overlay');
  await page.waitForFunction(() => window.__wb.charts.loss && window.__wb.charts.loss.mean);
  await shot(page, 'group');
  noErrors(page);
  await page.close();
});

test('run page code section: commit and the patch, as text', async () => {
  const repo = join(srv.root, 'repo');
  mkdirSync(repo);
  const git = (...a) => {
    const r = spawnSync('git', a, { cwd: repo, encoding: 'utf8',
      env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x',
        GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' } });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  git('init', '-q');
  writeFileSync(join(repo, 'train.c'), 'int lr = 1;\n');
  git('add', '-A');
  git('commit', '-qm', 'first');
  writeFileSync(join(repo, 'train.c'), 'int lr = 2;\n');
  writeFileSync(join(repo, 'notes.html'), '<script>window.__xss=1</script>\n');
  const [run] = srv.fillIn(repo, 'code', 'code', '20');
  const code = (await srv.api(`/projects/team/code/runs/${run.id}/code`)).json;
  assert.equal(code.commit, git('rev-parse', 'HEAD'));
  const page = await newPage(ctx, srv);
  await open(page, srv.url, `/team/code/runs/${run.id}`);
  await page.waitForSelector('#patch');
  assert.equal(await page.textContent('#code-commit'), code.commit);
  const patch = await page.textContent('#patch');
  assert.ok(patch.includes('-int lr = 1;') && patch.includes('+int lr = 2;'));
  assert.ok(patch.includes('+<script>window.__xss=1</script>'), 'the payload shows as text');
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  await shot(page, 'code');
  noErrors(page);
  await page.close();
});

test('live updates arrive while a run is running', async () => {
  const child = spawn(WB_FILL, ['live', 'demo', '20'], { env: srv.env, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  await waitFor(() => out.includes('\n'), 30000, 'live run id');
  const id = JSON.parse(out.split('\n')[0]).id;
  await waitFor(async () => {
    const r = await srv.api(`${P}/runs/${id}`);
    return r.status === 200 && r.json.last_step === 19;
  }, 30000, 'first 20 steps');
  const page = await newPage(ctx, srv);
  await open(page, srv.url, `/team/demo/runs/${id}`);
  await page.waitForSelector('.chart[data-key=loss][data-state=ready]');
  assert.equal(await page.evaluate(() => window.__wb.charts.loss.steps.length), 20);
  assert.match(await page.textContent('.run-head'), /running/);
  child.stdin.write('more\n');
  await page.waitForFunction(() => window.__wb.charts.loss.steps.length === 40, null, { timeout: 30000 });
  const exited = new Promise((r) => child.once('exit', r));
  child.stdin.end();
  assert.equal(await exited, 0);
  await page.waitForFunction(() => /finished/.test(document.querySelector('.run-head').textContent), null, { timeout: 30000 });
  noErrors(page);
  await page.close();
});

// Drag across a chart's plot area from fraction a to b of its width.
async function drag(page, chartSel, a, b) {
  const over = page.locator(`${chartSel} .u-over`);
  await over.scrollIntoViewIfNeeded();
  const box = await over.boundingBox();
  await page.mouse.move(box.x + box.width * a, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * b, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
}

// Everything the API lists, page by page (the independent side of the checks below).
async function allRuns(project, filter = '') {
  const out = [];
  for (let off = 0; ; off += 1000) {
    const page = (await srv.api(`/projects/team/${project}/runs?limit=1000&offset=${off}${filter}`)).json;
    out.push(...page.runs);
    if (out.length >= page.total || !page.runs.length) return out;
  }
}

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const summaryOf = (r, k) => { const v = r.summary[k]; return num(v && typeof v === 'object' ? v.last : v); };
const durationOf = (r) => r.finished_at - r.created_at;
const close = (a, b) => (a === null || b === null ? a === b : Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)));

test('api: group_by aggregates equal an independent computation; paging; sort by duration, tags, notes', async () => {
  const runsAll = await allRuns('demo');
  const cases = [
    ['config.optimizer.name', (r) => [r.config.optimizer ? r.config.optimizer.name : null]],
    ['tags', (r) => (r.tags.length ? r.tags : [null])],
    ['state', (r) => [r.state]],
    ['config.batch_size', (r) => [r.config.batch_size ?? null]],
  ];
  const aggs = [['summary.loss', (r) => summaryOf(r, 'loss')], ['config.lr', (r) => num(r.config.lr)], ['duration', durationOf],
    ['summary.note', (r) => summaryOf(r, 'note')]];
  for (const [by, keysOf] of cases) {
    const qs = `group_by=${encodeURIComponent(by)}${aggs.map(([a]) => `&agg=${a}`).join('')}`;
    const res = await srv.api(`${P}/runs?${qs}`);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const want = new Map();
    for (const r of runsAll) {
      for (const k of keysOf(r)) {
        if (!want.has(k)) want.set(k, []);
        want.get(k).push(r);
      }
    }
    const d = res.json;
    assert.equal(d.total, runsAll.length, by);
    assert.equal(d.total_groups, want.size, by);
    assert.deepEqual(d.groups.map((g) => g.value), [...want.keys()].sort((a, b) => (a === null) - (b === null) ||
      (typeof a === typeof b ? (a < b ? -1 : a > b ? 1 : 0) : typeof a === 'number' ? -1 : 1)), `${by}: order`);
    for (const g of d.groups) {
      const rs = want.get(g.value);
      assert.equal(g.count, rs.length, `${by}=${g.value}`);
      for (const [a, get] of aggs) {
        const vs = rs.map(get).filter((v) => v !== null);
        const got = g.aggregates[a];
        assert.equal(got.count, vs.length, `${by}=${g.value} ${a} count`);
        const mean = vs.length ? vs.reduce((x, y) => x + y, 0) / vs.length : null;
        assert.ok(close(got.mean, mean), `${by}=${g.value} ${a} mean ${got.mean} vs ${mean}`);
        assert.ok(close(got.min, vs.length ? Math.min(...vs) : null), `${a} min`);
        assert.ok(close(got.max, vs.length ? Math.max(...vs) : null), `${a} max`);
      }
    }
  }
  // Filters apply before grouping; limit/offset page the groups.
  const f = await srv.api(`${P}/runs?group_by=state&filter=${encodeURIComponent('config.lr>0.05')}`);
  assert.equal(f.json.total, runsAll.filter((r) => r.config.lr > 0.05).length);
  const p1 = (await srv.api(`${P}/runs?group_by=config.optimizer.name&limit=1&offset=1`)).json;
  const pAll = (await srv.api(`${P}/runs?group_by=config.optimizer.name`)).json;
  assert.equal(p1.groups.length, 1);
  assert.deepEqual(p1.groups[0], pAll.groups[1]);
  assert.equal(p1.total_groups, pAll.total_groups);
  for (const bad of ['group_by=nosuch', 'group_by=created_at', 'group_by=state&agg=name', 'agg=config.lr',
    `group_by=state${'&agg=config.lr'.repeat(17)}`]) {
    const r = await srv.api(`${P}/runs?${bad}`);
    assert.equal(r.status, 400, bad);
    assert.equal(r.json.error.code, 'invalid_argument');
  }

  // Sorting by duration, tags and notes is done by the server.
  const byDur = (await srv.api(`${P}/runs?sort=-duration&limit=1000`)).json.runs;
  const durs = byDur.map(durationOf);
  assert.deepEqual(durs, [...durs].sort((a, b) => b - a));
  const byTags = (await srv.api(`${P}/runs?sort=tags&limit=1000`)).json.runs;
  const tagKey = (r) => (r.tags.length ? JSON.stringify(r.tags) : null);
  for (let i = 1; i < byTags.length; i++) {
    const a = tagKey(byTags[i - 1]), b = tagKey(byTags[i]);
    assert.ok(a === null || (b !== null && a <= b), `tags order: ${a} then ${b}`);
  }
  const byNotes = (await srv.api(`${P}/runs?sort=-notes&limit=1000`)).json.runs.map((r) => r.notes);
  assert.deepEqual(byNotes, [...byNotes].sort().reverse());
  const fl = (await srv.api(`${P}/runs?filter=${encodeURIComponent('notes~first')}`)).json.runs;
  assert.deepEqual(fl.map((r) => r.id), runsAll.filter((r) => r.notes.includes('first')).map((r) => r.id));
});

test('runs table: grouped by the server, collapsible groups, group-by and open groups in the URL, sort by duration', async () => {
  const page = await newPage(ctx, srv.key);
  await open(page, srv.url, '/team/demo?group=config.optimizer.name&cols=config.lr,summary.loss');
  await page.waitForSelector('#groups tbody tr.group-row');
  const api = (await srv.api(`${P}/runs?group_by=config.optimizer.name&agg=config.lr&agg=summary.loss&agg=duration`)).json;
  const rows = await page.$$eval('#groups tbody tr.group-row', (trs) => trs.map((t) => ({
    group: t.dataset.group, count: t.dataset.count,
    lr: t.querySelector('td[data-agg="config.lr"]') ? t.querySelector('td[data-agg="config.lr"]').textContent : null })));
  assert.deepEqual(rows.map((r) => r.group), api.groups.map((g) => (g.value === null ? '(none)' : String(g.value))));
  assert.deepEqual(rows.map((r) => Number(r.count)), api.groups.map((g) => g.count));
  for (const [i, g] of api.groups.entries()) {
    const a = g.aggregates['config.lr'];
    if (a.count) assert.ok(rows[i].lr.startsWith(String(Number(a.mean.toPrecision(5)))), `${rows[i].lr} vs ${a.mean}`);
  }
  assert.equal(await page.locator('#groups .group-runs').count(), 0, 'groups start closed');
  // Open a group: its runs, from the server, under the group row.
  const g = api.groups.find((x) => x.value === 'adam');
  await page.click('tr.group-row[data-group=adam] .caret');
  await page.waitForSelector('table.group-runs[data-group=adam] tbody tr');
  const inGroup = await page.$$eval('table.group-runs[data-group=adam] tbody tr', (trs) => trs.map((t) => t.dataset.run).sort());
  const want = (await allRuns('demo', `&filter=${encodeURIComponent('config.optimizer.name=adam')}`)).map((r) => r.id).sort();
  assert.equal(inGroup.length, g.count);
  assert.deepEqual(inGroup, want);
  await page.waitForFunction(() => /open=adam/.test(location.search));
  const shared = page.url();
  await shot(page, 'runs-grouped');
  // Close it again.
  await page.click('tr.group-row[data-group=adam] .caret');
  await page.waitForFunction(() => !document.querySelector('table.group-runs') && !/open=/.test(location.search));

  // The shared URL reopens the same grouped view with the same group open.
  const other = await newPage(ctx, srv.key);
  await open(other, srv.url, shared.replace(srv.url, ''));
  await other.waitForSelector('table.group-runs[data-group=adam] tbody tr');
  assert.equal(await other.inputValue('#group-by'), 'config.optimizer.name');
  assert.deepEqual(await other.$$eval('table.group-runs[data-group=adam] tbody tr', (trs) => trs.map((t) => t.dataset.run).sort()), want);
  noErrors(other);
  await other.close();

  // Group by tags: a run is in each of its tags' groups.
  await page.selectOption('#group-by', 'tags');
  await page.waitForFunction(() => /group=tags/.test(location.search) && document.body.dataset.tableReady === location.search);
  const tagGroups = await page.$$eval('#groups tr.group-row', (trs) => trs.map((t) => [t.dataset.group, Number(t.dataset.count)]));
  const tagApi = (await srv.api(`${P}/runs?group_by=tags`)).json.groups.map((x) => [x.value === null ? '(none)' : x.value, x.count]);
  assert.deepEqual(tagGroups, tagApi);

  // Ungrouped: sort by duration (descending first) through the header.
  await open(page, srv.url, '/team/demo');
  await page.waitForSelector('#runs tbody tr');
  await page.click('th[data-field=duration]');
  await page.waitForFunction(() => /sort=-duration/.test(location.search) && document.body.dataset.tableReady === location.search);
  const ids = await page.$$eval('#runs tbody tr', (trs) => trs.map((t) => t.dataset.run));
  assert.deepEqual(ids, (await srv.api(`${P}/runs?sort=-duration&limit=50`)).json.runs.map((r) => r.id));
  await page.click('th[data-field=notes]');
  await page.waitForFunction(() => /sort=-notes/.test(location.search) && document.body.dataset.tableReady === location.search);
  assert.deepEqual(await page.$$eval('#runs tbody tr', (trs) => trs.map((t) => t.dataset.run)),
    (await srv.api(`${P}/runs?sort=-notes&limit=50`)).json.runs.map((r) => r.id));
  noErrors(page);
  await page.close();
});

test('run page System section: system/* series against time since start, with units; zoom re-requests', async () => {
  const [run] = srv.fill('sys', 'sys', '1500');
  const R = `/projects/team/sys/runs/${run.id}`;
  const metrics = (await srv.api(`${R}/metrics`)).json.metrics;
  const sysKeys = metrics.map((m) => m.key).filter((k) => k.startsWith('system/')).sort();
  assert.ok(sysKeys.includes('system/cpu') && sysKeys.includes('system/memory.used') && sysKeys.includes('system/proc.rss'),
    sysKeys.join(' '));
  const cpuCount = metrics.find((m) => m.key === 'system/cpu').count;
  assert.ok(cpuCount >= 10, `only ${cpuCount} cpu samples`);
  const page = await newPage(ctx, srv.key);
  await open(page, srv.url, `/team/sys/runs/${run.id}`);
  await page.waitForSelector('#system-charts .chart[data-key="system/cpu"][data-state=ready]');
  // Only the system keys are in the System section, and none of them among the metric charts or x-axis choices.
  assert.deepEqual(await page.$$eval('#system-charts .chart', (cs) => cs.map((c) => c.dataset.key).sort()), sysKeys);
  assert.deepEqual(await page.$$eval('#charts .chart', (cs) => cs.map((c) => c.dataset.key)), ['loss']);
  assert.equal(await page.$$eval('#x-axis option', (os) => os.filter((o) => o.value.startsWith('system/')).length), 0);
  for (const key of sysKeys) {
    const api = (await srv.api(`${R}/history?key=${encodeURIComponent(key)}&buckets=1000`)).json;
    const d = await page.evaluate((k) => window.__wb.system[k], key);
    assert.deepEqual(d.steps, api.step, key);
    assert.deepEqual(d.last, api.last, key);
    assert.deepEqual(d.x, api.step.map((ms) => ms / 1000), `${key}: x is seconds since start`);
    assert.deepEqual(d.y, api.last.map((v) => (v === null ? null : v / d.div)), `${key}: y in its unit`);
    const unit = await page.getAttribute(`#system-charts .chart[data-key="${key}"]`, 'data-unit');
    assert.equal(unit, d.unit);
  }
  const unitOf = (k) => page.evaluate((x) => window.__wb.system[x].unit, k);
  assert.equal(await unitOf('system/cpu'), '%');
  assert.equal(await unitOf('system/proc.cpu'), '%');
  assert.match(await unitOf('system/memory.used'), /^(MiB|GiB)$/);
  assert.match(await unitOf('system/proc.rss'), /^(MiB|GiB)$/);
  if (sysKeys.includes('system/disk.read')) assert.match(await unitOf('system/disk.read'), /^(KiB|MiB|GiB)\/s$/);
  assert.equal(await unitOf('system/load1'), '');
  // Axis labels (drawn on the canvas, so asked of the plot's formatters): relative time and the unit.
  const ticks = await page.evaluate(() => {
    const u = window.__wb.systemPlots['system/cpu'];
    return [u.axes[0].values(u, [0.25, 45, 200, 7500], 0, 50, 0.25), u.axes[1].values(u, [25, 50, 75], 1, 50, 25)];
  });
  assert.deepEqual(ticks, [['0.25s', '45s', '3m 20s', '2h 05m'], ['25%', '50%', '75%']]);
  assert.match(await page.textContent('#system-charts .chart[data-key="system/memory.used"] .chart-title'), /memory\.used \((MiB|GiB)\)/);

  await page.evaluate(() => document.querySelector('#system').scrollIntoView({ block: 'start' }));
  await shot(page, 'system');
  // Drag on the cpu chart: the time window goes into the URL and every system chart is re-requested for it.
  await drag(page, '#system-charts .chart[data-key="system/cpu"]', 0.3, 0.6);
  await page.waitForFunction(() => /szoom=\d+-\d+/.test(location.search));
  const [z0, z1] = /szoom=(\d+)-(\d+)/.exec(page.url()).slice(1).map(Number);
  assert.ok(z0 > 0 && z0 < z1, `szoom ${z0}-${z1}`);
  await page.waitForFunction(([a, b]) => {
    const s = window.__wb.system['system/cpu'].steps;
    return s.length && s[0] >= a && s[s.length - 1] <= b;
  }, [z0, z1]);
  const zoomed = (await srv.api(`${R}/history?key=system%2Fcpu&buckets=1000&start=${z0}&end=${z1}`)).json;
  assert.deepEqual(await page.evaluate(() => window.__wb.system['system/cpu'].steps), zoomed.step);
  // The URL reopens the zoomed view.
  const other = await newPage(ctx, srv.key);
  await open(other, srv.url, page.url().replace(srv.url, ''));
  await other.waitForSelector('#system-charts .chart[data-key="system/cpu"][data-state=ready]');
  assert.deepEqual(await other.evaluate(() => window.__wb.system['system/cpu'].steps), zoomed.step);
  noErrors(other);
  await other.close();
  noErrors(page);
  await page.close();
});

test('compare: zoom re-requests every run for the window; the URL keeps it', async () => {
  const ids = runs.slice(0, 4).map((r) => r.id);
  const page = await newPage(ctx, srv.key);
  await open(page, srv.url, `/team/demo/compare?runs=${ids.join(',')}&keys=loss,acc`);
  await page.waitForSelector('.chart[data-key=loss][data-state=ready]');
  await drag(page, '.chart[data-key=loss]', 0.25, 0.5);
  await page.waitForFunction(() => /zoom=\d+-\d+/.test(location.search));
  const zoom = /zoom=(\d+-\d+)/.exec(page.url())[1];
  const [z0, z1] = zoom.split('-').map(Number);
  assert.ok(z0 > 0 && z1 < 119 && z0 < z1, zoom);
  await page.waitForFunction((z) => ['loss', 'acc'].every((k) => window.__wb.charts[k] && window.__wb.charts[k].zoom === z), zoom);
  for (const key of ['loss', 'acc']) {
    const api = (await srv.api(`${P}/history?runs=${ids.join(',')}&key=${key}&buckets=1000&start=${z0}&end=${z1}`)).json;
    const drawn = await page.evaluate((k) => window.__wb.charts[k].runs, key);
    assert.deepEqual(drawn.map((r) => r.id), ids);
    for (const [i, r] of api.runs.entries()) {
      assert.deepEqual(drawn[i].steps, r.step, `${key} ${r.id}`);
      assert.deepEqual(drawn[i].last, r.last);
      assert.ok(r.step.every((s) => s >= z0 && s <= z1));
    }
  }
  const other = await newPage(ctx, srv.key);
  await open(other, srv.url, page.url().replace(srv.url, ''));
  await other.waitForSelector('.chart[data-key=loss][data-state=ready]');
  assert.deepEqual(await other.evaluate(() => window.__wb.charts.loss.runs), await page.evaluate(() => window.__wb.charts.loss.runs));
  noErrors(other);
  await other.close();
  // Double-click resets: the whole range again, and no zoom in the URL.
  await page.locator('.chart[data-key=loss] .u-over').dblclick();
  await page.waitForFunction(() => !/zoom=/.test(location.search) && window.__wb.charts.loss.zoom === '');
  assert.equal(await page.evaluate(() => window.__wb.charts.loss.runs[0].steps.length), 120);
  noErrors(page);
  await page.close();
});
