// layout.test.mjs — pages keep their shape and links keep working, in
// Debian's chromium against a real server filled by the real SDK, signed in
// with a password: a 100 KB config or summary value (run page, runs table
// column, report table and compare panels) is cut with a way to expand and
// copy it, so the page stays about a screen wide and never tens of
// thousands of pixels tall; a shared link whose x= names a metric the run
// lacks falls back to step and says so; the runs table's selection
// survives a reload and Back; grouping and sorting by config and summary
// keys holding '"' and '\\' work.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, newPage, open, waitFor } from './lib.mjs';

const BYTES = 100000;
let srv, ctx, longId, demo, quoted;

before(async () => {
  srv = await startServer();
  [{ id: longId }] = srv.fill('long', 'lay', String(BYTES));
  demo = srv.fill('demo', 'lay', '3', '40');
  quoted = srv.fill('quoted', 'qk', '5');
  ctx = await launch(srv.root);
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.url });
});

after(async () => {
  if (ctx) await ctx.close();
  if (srv) await srv.stop();
});

// The page's size in CSS pixels.
const size = (page) => page.evaluate(() => ({
  w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight, vw: window.innerWidth,
}));

test('a 100 KB config value is cut, expands in a bounded box and copies whole', async () => {
  const page = await newPage(ctx, srv);
  await open(page, srv.url, `/team/lay/runs/${longId}`);
  await page.waitForSelector('#config .long-value');
  let s = await size(page);
  assert.ok(s.w <= s.vw + 1, `page ${s.w} px wide in a ${s.vw} px window`);
  assert.ok(s.h < 4000, `page ${s.h} px tall`);
  const row = page.locator('#config tr', { has: page.locator('th', { hasText: /^prompt$/ }) });
  assert.match(await row.locator('.long-value').textContent(), /100,000 characters/);
  await row.locator('button.long-more').click();
  const full = row.locator('pre.long-full');
  assert.equal(await full.isVisible(), true);
  assert.equal((await full.textContent()).length, BYTES);
  assert.ok((await full.boundingBox()).height <= 330, 'the expanded value scrolls in its box');
  s = await size(page);
  assert.ok(s.w <= s.vw + 1 && s.h < 4400, `expanded: ${s.w} × ${s.h}`);
  await row.locator('button.long-copy').click();
  await waitFor(async () => (await row.locator('button.long-copy').textContent()) === 'copied', 5000, 'copied');
  const clip = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(clip.length, BYTES);
  assert.ok(clip.endsWith('<END'));
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('runs table column, report table and compare panels cut long values too', async () => {
  const page = await newPage(ctx, srv);
  await open(page, srv.url, '/team/lay?cols=config.prompt,summary.answer');
  await page.waitForSelector('#runs td[data-col="config.prompt"] .long-value');
  let s = await size(page);
  assert.ok(s.w < 4000 && s.h < 4000, `runs table page ${s.w} × ${s.h}`);

  const body = [
    '# long cells', '',
    '```wb', 'table', 'columns: config.prompt, summary.answer', '```', '',
    '```wb', `compare: ${longId}, ${demo[0].id}`, '```', '',
  ].join('\n');
  const res = await fetch(`${srv.url}/api/v1/projects/team/lay/reports`, {
    method: 'POST', headers: { Authorization: `Bearer ${srv.key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ title: 'long', body }),
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  const rep = JSON.parse(text);
  await open(page, srv.url, `/team/lay/reports/${rep.id}`);
  await waitFor(() => page.evaluate(() => document.querySelectorAll('#report-body .long-value').length >= 3), 20000,
    'long cells in the report');
  s = await size(page);
  assert.ok(s.w <= s.vw + 1, `report page ${s.w} px wide in a ${s.vw} px window`);
  assert.ok(s.h < 6000, `report page ${s.h} px tall`);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('x= naming a metric the run lacks falls back to step and says so', async () => {
  const page = await newPage(ctx, srv);
  await open(page, srv.url, `/team/lay/runs/${demo[0].id}?x=no/such/metric`);
  await waitFor(() => page.evaluate(() => !!(window.__wb.charts && window.__wb.charts.loss)), 20000, 'loss chart');
  assert.match(await page.textContent('#x-fallback'), /no metric "no\/such\/metric".*step/);
  assert.equal(await page.inputValue('#x-axis'), 'step');
  assert.equal(new URL(page.url()).searchParams.get('x'), null);
  // the chart is against step: x equals the steps
  const c = await page.evaluate(() => window.__wb.charts.loss);
  assert.deepEqual(c.x, c.steps);
  assert.deepEqual(page.errors.filter((e) => !/status of 404/.test(e)), []);
  await page.close();
});

test('the runs table selection survives a reload and Back', async () => {
  const page = await newPage(ctx, srv);
  await open(page, srv.url, '/team/lay');
  const box = (id) => page.locator(`#runs tr[data-run="${id}"] td.sel input`);
  await box(demo[0].id).check();
  await box(demo[2].id).check();
  assert.match(await page.textContent('.selbar-inner strong'), /2 selected/);
  await page.reload();
  await page.waitForFunction(() => window.__wb && window.__wb.ready === true);
  await page.waitForSelector('.selbar-inner');
  assert.equal(await box(demo[0].id).isChecked(), true);
  assert.equal(await box(demo[2].id).isChecked(), true);
  assert.equal(await box(demo[1].id).isChecked(), false);
  await page.click(`#runs tr[data-run="${demo[1].id}"] td.name a`);
  await waitFor(() => page.evaluate(() => location.pathname.includes('/runs/') && window.__wb.ready), 20000, 'run page');
  await page.goBack();
  await waitFor(() => page.evaluate(() => location.pathname === '/team/lay' && window.__wb.ready), 20000, 'back');
  await page.waitForSelector('.selbar-inner');
  assert.match(await page.textContent('.selbar-inner strong'), /2 selected/);
  assert.equal(await box(demo[0].id).isChecked(), true);
  const compare = await page.getAttribute('#compare-btn', 'href');
  assert.ok(compare.includes(demo[0].id) && compare.includes(demo[2].id), compare);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('grouping and sorting by keys holding a quote or backslash', async () => {
  const page = await newPage(ctx, srv);
  const qs = new URLSearchParams({ group: 'config.opt"name', cols: 'config.lr\\x,summary.acc"top' });
  await open(page, srv.url, `/team/qk?${qs}`);
  await page.waitForSelector('tr.group-row');
  const groups = await page.$$eval('tr.group-row', (rows) => rows.map((r) => [r.dataset.group, r.dataset.count]));
  assert.deepEqual(groups.sort(), [['adam', '3'], ['sgd', '2']]);
  // the aggregated column of the quoted summary key: acc"top of q-00, q-02, q-04 is 0, 1, 2
  const agg = await page.textContent('tr.group-row[data-group="adam"] td[data-agg=\'summary.acc"top\']');
  assert.match(agg, /^1 \(0 – 2\)$/);
  // open a group: its runs come from a filter on the quoted key
  await page.click('tr.group-row[data-group="sgd"] button.caret');
  await page.waitForSelector('table.group-runs');
  const inGroup = await page.$$eval('table.group-runs tr[data-run]', (rows) => rows.map((r) => r.dataset.run));
  assert.deepEqual(inGroup.sort(), [quoted[1].id, quoted[3].id].sort());
  // sorted by the quoted summary key, descending: acc"top = 0 3 1 4 2 for q-00..q-04
  const sorted = new URLSearchParams({ sort: '-summary.acc"top', cols: 'summary.acc"top' });
  await open(page, srv.url, `/team/qk?${sorted}`);
  await page.waitForSelector('#runs tr[data-run]');
  const order = await page.$$eval('#runs tr[data-run]', (rows) => rows.map((r) => r.dataset.run));
  assert.deepEqual(order, [3, 1, 4, 2, 0].map((i) => quoted[i].id));
  assert.equal(await page.$('.error-box'), null);
  assert.deepEqual(page.errors, []);
  await page.close();
});
