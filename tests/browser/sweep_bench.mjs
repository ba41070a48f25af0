// sweep_bench.mjs — the sweep page with WB_BENCH_TRIALS (default 1,000)
// trials in Debian's chromium against a real server: a random sweep over
// six parameters (log, categorical, nested, conditional) driven through the
// API as agents drive one, each trial's run made through libwb (wb_fill).
// Prints one JSON line per result, like bench.mjs:
//   web_sweep_page_painted  navigation start → the first frame after every part is drawn
//                           (table, best-so-far curve, parallel coordinates, scatter,
//                           importance), by the page's clock (performance.now())
//   web_sweep_page_script   the sweep page's own work: its three requests and the drawing
//   web_sweep_page_nav      the same load as Playwright sees it: goto → the marker found
//                           (adds Playwright's round trips to the browser)
//   web_sweep_brush         a brush's redraw in the page (plots, selection, table)
import { startServer, launch, newPage, fillSweep, shot } from './lib.mjs';

const N = Number(process.env.WB_BENCH_TRIALS || 1000);
const out = (bench, value, extra = {}) => console.log(JSON.stringify({ bench, value: Math.round(value * 10) / 10, unit: 'ms', ...extra }));
const SPEC = {
  name: 'bench', method: 'random', seed: 1, run_cap: N,
  metric: { name: 'val/acc', goal: 'maximize' },
  parameters: {
    optimizer: { parameters: {
      name: { values: ['sgd', 'adam', 'adamw'] },
      lr: { distribution: 'log_uniform_values', min: 1e-5, max: 0.1 },
      momentum: { distribution: 'uniform', min: 0, max: 0.99, condition: { parameter: 'optimizer.name', equals: 'sgd' } },
    } },
    batch: { values: [16, 32, 64, 128, 256] },
    hidden: { distribution: 'int_uniform', min: 16, max: 1024 },
    dropout: { distribution: 'uniform', min: 0, max: 0.6 },
  },
};
const acc = (p) => Math.round((0.92 - 0.04 * Math.abs(Math.log10(p.optimizer.lr) + 2.7) - 0.05 * p.dropout
  - 0.01 * Math.abs(Math.log2(p.batch) - 6) + 0.00002 * p.hidden) * 1e6) / 1e6;

const srv = await startServer();
const ctx = await launch(srv.root);
try {
  const t = Date.now();
  const { id } = await fillSweep(srv, 'sweepbench', SPEC, N, acc);
  console.error(`sweep_bench: ${N} trials made in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const page = await newPage(ctx, srv.key);
  await page.goto(`${srv.url}/`); // warm: assets cached, key stored
  const path = `${srv.url}/team/sweepbench/sweeps/${id}`;
  const nav = [], painted = [], script = [], at = [];
  let parts = null;
  for (let i = 0; i < 6; i++) {
    const t0 = Date.now();
    await page.goto(path);
    await page.waitForSelector('[data-sweep-painted]', { timeout: 60000 });
    nav.push(Date.now() - t0);
    const s = await page.evaluate(() => ({ painted: window.__wb.sweep.paintedAt, script: window.__wb.sweep.drawnMs, parts: window.__wb.sweep.parts,
      // where the time went: the app's bundle run (DOMContentLoaded), the page's start, its drawing done
      at: [performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd, window.__wb.sweep.startedAt,
        window.__wb.sweep.startedAt + window.__wb.sweep.drawnMs].map(Math.round) }));
    painted.push(Math.round(s.painted));
    at.push(s.at);
    script.push(Math.round(s.script));
    parts = s.parts;
  }
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  // The first load (cold caches) is left out of each figure.
  out('web_sweep_page_painted', median(painted.slice(1)), { trials: N, loads: painted.slice(1),
    dcl_start_drawn: at.slice(1) });
  out('web_sweep_page_script', median(script.slice(1)), { trials: N, loads: script.slice(1), last_parts: parts });
  out('web_sweep_page_nav', median(nav.slice(1)), { trials: N, loads: nav.slice(1) });
  // One brush on the lr axis: the page's own time for the plot's redraw and the selection's (scatter, table).
  const ax = (await page.evaluate(() => window.__wb.sweep.axes())).find((a) => a.name === 'optimizer.lr');
  await page.locator('#sweep-parallel').scrollIntoViewIfNeeded();
  const box = await page.locator('#sweep-parallel').boundingBox();
  await page.mouse.move(box.x + ax.x, box.y + ax.top + 10);
  await page.mouse.down();
  await page.mouse.move(box.x + ax.x, box.y + (ax.top + ax.bottom) / 2, { steps: 4 });
  await page.mouse.up();
  await page.waitForFunction(() => window.__wb.sweep.brushMs !== undefined);
  out('web_sweep_brush', await page.evaluate(() => window.__wb.sweep.brushMs),
    { trials: N, selected: Number(await page.getAttribute('#sweep-selection', 'data-selected')) });
  await page.evaluate(() => document.querySelector('#sweep-legend').scrollIntoView());
  await shot(page, 'sweep-brushed', false, 'jpeg'); // docs/screenshots/sweep.jpg
} finally {
  await ctx.close();
  await srv.stop();
}
