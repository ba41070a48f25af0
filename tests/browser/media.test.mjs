// media.test.mjs — rich data on the run page in a real browser (Debian's
// chromium) against a real server filled by the real SDK (wb_fill media):
// the histogram heatmap draws what the API returns (pixels read back from
// the canvas), images follow the step slider and show the logged pixels,
// tables show the logged cells, and XSS payloads in captions and cells
// stay text. Run by ctest (test_browser_media) as `node --test`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startServer, launch, newPage, open, waitFor, WB_FILL } from './lib.mjs';

const SHOTS = process.env.WB_SCREENSHOTS_DIR;
const STEPS = 23;
let srv, ctx, id, page;

before(async () => {
  srv = await startServer();
  [{ id }] = srv.fill('media', 'media', String(STEPS));
  ctx = await launch(srv.root);
  page = await newPage(ctx, srv); // signed in with a password, as people are: images come with the session cookie
  await open(page, srv.url, `/team/media/runs/${id}`);
  await page.waitForFunction(() => window.__wb.mediaReady === true, null, { timeout: 20000 });
});

after(async () => {
  if (ctx) await ctx.close();
  if (srv) await srv.stop();
});

const rp = () => `/projects/team/media/runs/${id}`;

// The canvas pixel at CSS coordinates (x, y) of the heatmap of key.
async function heatPixel(key, x, y) {
  return page.evaluate(([k, px, py]) => {
    const c = document.querySelector(`canvas.heatmap[data-key="${CSS.escape(k)}"]`);
    const dpr = c.width / parseFloat(c.style.width);
    const d = c.getContext('2d').getImageData(Math.floor(px * dpr), Math.floor(py * dpr), 1, 1).data;
    return [d[0], d[1], d[2]];
  }, [key, x, y]);
}

test('histogram heatmap draws the API histograms', async () => {
  const api = (await srv.api(`${rp()}/media/histogram?key=weights&samples=200`)).json;
  assert.equal(api.total, STEPS);
  const drawn = await page.evaluate(() => window.__wb.media['histogram:weights']);
  assert.deepEqual(drawn.cols.map((c) => c.step), api.values.map((v) => v.step));
  const { W, HGT, PAD_L, PAD_R, PAD_T, PAD_B } = drawn.geometry;
  const plotW = W - PAD_L - PAD_R, plotH = HGT - PAD_T - PAD_B;
  const lo = Math.min(...api.values.map((v) => v.edges[0]));
  const hi = Math.max(...api.values.map((v) => v.edges[v.edges.length - 1]));
  assert.equal(drawn.lo, lo);
  assert.equal(drawn.hi, hi);
  // Recomputed here from the API alone: per step, count per unit of value (a bin narrower than a
  // pixel counts as a pixel wide), normalised by the step's densest bin; white → rgb(30,58,138).
  const pixel = (hi - lo) / plotH;
  const colour = (t) => [Math.round(255 - t * 225), Math.round(255 - t * 197), Math.round(255 - t * 117)];
  const n = api.values.length;
  let checked = 0, dark = 0;
  for (const k of [0, 11, STEPS - 1]) {
    const v = api.values[k];
    const dens = v.counts.map((c, i) => c / Math.max(v.edges[i + 1] - v.edges[i], pixel));
    const max = Math.max(...dens);
    const x = PAD_L + Math.floor(((k + 0.5) * plotW) / n);
    for (let y = PAD_T; y < PAD_T + plotH; y += 3) {
      const val = lo + ((PAD_T + plotH - (y + 0.5)) / plotH) * (hi - lo);
      let t = 0;
      if (val >= v.edges[0] && val <= v.edges[v.edges.length - 1]) {
        let b = v.counts.length - 1;
        while (b > 0 && v.edges[b] > val) b--;
        t = dens[b] / max;
      }
      assert.deepEqual(await heatPixel('weights', x, y), colour(t), `step ${v.step} at value ${val}`);
      checked++;
      if (t === 1) dark++;
    }
    assert.equal(drawn.cols[k].intensity.length, v.counts.length);
  }
  assert.ok(checked > 150 && dark >= 1, `${checked} pixels, ${dark} at full colour`);
});

test('images follow the step slider and show the logged pixels and captions as text', async () => {
  const api = (await srv.api(`${rp()}/media/image?key=samples`)).json;
  assert.deepEqual(api.values.map((v) => v.step), [0, 5, 10, 15, 20]);
  let st = await page.evaluate(() => window.__wb.media['image:samples']);
  assert.deepEqual(st.steps, [0, 5, 10, 15, 20]);
  assert.equal(st.shown.step, 20);
  const card = page.locator('.image-card[data-key="samples"]');
  assert.equal(await card.locator('.caption').textContent(), api.values[4].caption);
  assert.match(api.values[4].caption, /<img src=x onerror=/);
  for (const [index, step] of [[0, 0], [2, 10]]) {
    await card.locator('input.step-slider').evaluate((el, i) => { el.value = String(i); el.dispatchEvent(new Event('input')); }, index);
    await waitFor(() => page.evaluate((s) => window.__wb.media['image:samples'].shown.step === s, step), 10000, `image of step ${step}`);
    st = await page.evaluate(() => window.__wb.media['image:samples']);
    assert.equal(st.shown.sha256, api.values[index].sha256);
    assert.equal(st.shown.width, 16);
    assert.equal(await card.locator('.caption').textContent(), api.values[index].caption);
    assert.equal(await card.locator('.step-label').textContent(), `step ${step} (${index + 1} of 5)`);
    // pixel (3, 2) as logged by wb_fill: (step * 20, x * 16, y * 16)
    const px = await card.locator('img.media-image').evaluate((img) => {
      const c = document.createElement('canvas');
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const g = c.getContext('2d');
      g.drawImage(img, 0, 0);
      return [...g.getImageData(3, 2, 1, 1).data];
    });
    assert.deepEqual(px, [step * 20, 48, 32, 255]);
  }
  // the image is a data: URL of the server's bytes, nothing else
  assert.match(await card.locator('img.media-image').getAttribute('src'), /^data:image\/png;base64,/);
});

test('tables show the logged cells, payloads as text', async () => {
  const api = (await srv.api(`${rp()}/media/table?key=preds`)).json;
  assert.deepEqual(api.values.map((v) => v.step), [0, STEPS - 1]);
  const card = page.locator('.table-card[data-key="preds"]');
  const cells = () => card.locator('table.media-table tbody tr').evaluateAll((rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
  const heads = await card.locator('table.media-table thead th').allTextContents();
  assert.deepEqual(heads, api.values[1].table.columns);
  assert.deepEqual(await cells(), [['last', '1', 'false']]);
  await card.locator('input.step-slider').evaluate((el) => { el.value = '0'; el.dispatchEvent(new Event('input')); });
  await waitFor(() => page.evaluate(() => window.__wb.media['table:preds'].shown.step === 0), 10000, 'table of step 0');
  assert.deepEqual(await cells(), [['<b>bold</b>', '0.25', 'true'], ['<img src=x onerror="window.__xss=1">', '', 'false']]);
  assert.equal(await card.locator('table b, table img').count(), 0);
});

test('the histograms of a running run grow on the page as it logs', async () => {
  const child = spawn(WB_FILL, ['medialive', 'media', '5'], { env: srv.env, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  await waitFor(() => out.includes('\n'), 30000, 'live run id');
  const live = JSON.parse(out.split('\n')[0]).id;
  await waitFor(async () => {
    const r = await srv.api(`/projects/team/media/runs/${live}/media/histogram?key=weights`);
    return r.status === 200 && r.json.total === 5;
  }, 30000, 'first 5 histograms');
  const p2 = await newPage(ctx, srv.key);
  await open(p2, srv.url, `/team/media/runs/${live}`);
  await p2.waitForFunction(() => window.__wb.mediaReady === true, null, { timeout: 20000 });
  assert.deepEqual(await p2.evaluate(() => window.__wb.media['histogram:weights'].cols.map((c) => c.step)), [0, 1, 2, 3, 4]);
  child.stdin.write('more\n');
  await p2.waitForFunction(() => window.__wb.media['histogram:weights'] && window.__wb.media['histogram:weights'].cols.length === 10, null, { timeout: 30000 });
  assert.deepEqual(await p2.evaluate(() => window.__wb.media['histogram:weights'].cols.map((c) => c.step)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const exited = new Promise((r) => child.once('exit', r));
  child.stdin.end();
  assert.equal(await exited, 0);
  assert.deepEqual(p2.errors, []);
  await p2.close();
});

test('no payload ran, no errors', async () => {
  if (SHOTS) {
    mkdirSync(SHOTS, { recursive: true });
    await page.locator('#media').screenshot({ path: join(SHOTS, 'media.png') });
  }
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.equal(await page.locator('#media script').count(), 0);
  // the only images are the one per image card, shown from data: URLs
  assert.equal(await page.locator('#media img').count(), 1);
  assert.deepEqual(page.errors, []);
  assert.deepEqual(page.dialogs, []);
});
