// bench.mjs — browser benchmarks of the web UI against a real server filled
// through the real SDK (wb_fill). Prints one JSON line per result:
//   {"bench": ..., "value": ..., "unit": "ms"}
// Sizes (defaults are the targets; filling takes minutes):
//   WB_BENCH_RUNS=10000  WB_BENCH_COMPARE=1000  WB_BENCH_COMPARE_STEPS=1000  WB_BENCH_POINTS=10000000
import { startServer, launch, newPage } from './lib.mjs';

const N_RUNS = Number(process.env.WB_BENCH_RUNS || 10000);
const N_CMP = Number(process.env.WB_BENCH_COMPARE || 1000);
const CMP_STEPS = Number(process.env.WB_BENCH_COMPARE_STEPS || 1000);
const POINTS = Number(process.env.WB_BENCH_POINTS || 10000000);
const out = (bench, value, extra = {}) => console.log(JSON.stringify({ bench, value: Math.round(value * 10) / 10, unit: 'ms', ...extra }));

const srv = await startServer();
const ctx = await launch(srv.root);
try {
  // Project page with N_RUNS runs: navigation start → first table rows drawn.
  srv.fill('many', 'table', String(N_RUNS), '0');
  const page = await newPage(ctx, srv.key);
  await page.goto(`${srv.url}/`); // warm: assets cached, key stored
  for (let i = 0; i < 2; i++) {
    const t0 = Date.now();
    await page.goto(`${srv.url}/team/table`);
    await page.waitForSelector('#runs tbody tr');
    if (i === 1) out('web_project_first_render', Date.now() - t0, { runs: N_RUNS });
  }
  // The same runs grouped by the server (count and mean/min/max of three columns per group).
  for (const [name, qs] of [['web_project_grouped_render', 'group=config.optimizer&cols=config.lr,config.seed'],
    ['web_project_grouped_by_seed_render', 'group=config.seed&cols=config.lr'],
    ['web_project_sorted_by_duration_render', 'sort=-duration']]) {
    for (let i = 0; i < 2; i++) {
      const t0 = Date.now();
      await page.goto(`${srv.url}/team/table?${qs}`);
      await page.waitForSelector(qs.startsWith('group') ? '#groups tbody tr.group-row' : '#runs tbody tr');
      if (i === 1) out(name, Date.now() - t0, { runs: N_RUNS });
    }
  }
  {
    const t0 = Date.now();
    const r = await srv.api('/projects/team/table/runs?group_by=config.seed&agg=config.lr&agg=summary.loss&agg=duration&limit=50');
    if (r.status !== 200 || r.json.total_groups !== N_RUNS) throw new Error(`group_by: ${r.status} ${JSON.stringify(r.json).slice(0, 200)}`);
    out('api_runs_group_by_10k_groups', Date.now() - t0, { runs: N_RUNS });
  }

  // Compare N_CMP runs × CMP_STEPS steps on one metric.
  const ids = srv.fill('many', 'cmp', String(N_CMP), String(CMP_STEPS)).map((r) => r.id);
  for (let i = 0; i < 2; i++) {
    const t0 = Date.now();
    await page.goto(`${srv.url}/team/cmp/compare?runs=${ids.join(',')}&keys=loss`);
    await page.waitForSelector('.chart[data-key=loss][data-state=ready]', { timeout: 60000 });
    if (i === 1) out('web_compare_chart', Date.now() - t0, { runs: N_CMP, steps: CMP_STEPS });
  }

  // Run page with a POINTS-point metric; then zoom to a 1% window.
  const [big] = srv.fill('big', 'big', String(POINTS));
  for (let i = 0; i < 2; i++) {
    const t0 = Date.now();
    await page.goto(`${srv.url}/team/big/runs/${big.id}`);
    await page.waitForSelector('.chart[data-key=loss][data-state=ready]', { timeout: 60000 });
    if (i === 1) out('web_run_chart_10M', Date.now() - t0, { points: POINTS });
  }
  const z = await page.evaluate(async (n) => {
    const t0 = performance.now();
    await window.__wb.zoom(Math.floor(n * 0.5), Math.floor(n * 0.51));
    return { ms: performance.now() - t0, pts: window.__wb.charts.loss.steps.length };
  }, POINTS);
  out('web_run_zoom_1pct', z.ms, { points: POINTS, drawn: z.pts });
} finally {
  await ctx.close();
  await srv.stop();
}
