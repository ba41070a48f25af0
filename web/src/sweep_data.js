// sweep_data.js — what the sweep page (sweep.js) computes from a sweep and
// its trials, with no DOM: the parameters and how each is drawn (from the
// spec: log axes for log-distributed ones, categorical axes for `values`),
// an axis's map from values to [0, 1], the best-so-far curve, and parameter
// importance (|Pearson correlation| and a random forest's impurity
// importance, as W&B shows both).
//
// The forest is small and deterministic (seeded PRNG, fixed shape) so the
// same trials always rank the parameters the same way, and fast enough for
// 1,000 trials inside the page's first draw: each tree keeps, per feature,
// its samples sorted once at the root and partitions those orders at every
// split (classic CART presorting), so a tree costs O(n · features · depth)
// instead of a sort at every node.
import { getPath, flatten } from './dom.js';

const LOG_DISTS = new Set(['log_uniform', 'log_uniform_values', 'q_log_uniform', 'q_log_uniform_values',
  'inv_log_uniform', 'inv_log_uniform_values', 'log_normal', 'q_log_normal']);
const CAT_DISTS = new Set(['categorical', 'constant']);

// The spec's parameters as [{name, dist, log, cat}] in spec order; `name`
// is dotted for nested groups. Keys seen only in trial params (a spec this
// page does not understand) come after, as plain numeric or categorical.
export function sweepParams(spec, trials) {
  const out = [];
  const seen = new Set();
  const walk = (obj, prefix) => {
    if (!obj || typeof obj !== 'object') return;
    for (const [k, p] of Object.entries(obj)) {
      if (!p || typeof p !== 'object' || Array.isArray(p)) continue;
      const name = prefix ? `${prefix}.${k}` : k;
      if (p.parameters && typeof p.parameters === 'object' && !p.distribution) { walk(p.parameters, name); continue; }
      let dist = p.distribution;
      if (!dist) dist = Array.isArray(p.values) ? 'categorical' : 'value' in p ? 'constant' : 'uniform';
      out.push({ name, dist, log: LOG_DISTS.has(dist), cat: CAT_DISTS.has(dist) });
      seen.add(name);
    }
  };
  walk(spec && spec.parameters, '');
  for (const t of trials) {
    for (const [k] of flatten(t.params || {})) {
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ name: k, dist: '', log: false, cat: false });
    }
  }
  return out;
}

// A trial's value of a dotted parameter, or undefined when the trial has none
// (a conditional parameter whose condition did not hold).
export const paramValue = (t, name) => getPath(t.params, name);

const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

// An axis over values (undefined/null: no value). kind: the parameter
// ({log, cat}) or {} for a metric. Numeric axes run min..max (log10 when
// log and all values > 0); a categorical axis, or one holding any
// non-number, spaces its distinct values evenly (numbers sorted as
// numbers). pos(v) → [0, 1] or null; at(p) → the value at position p.
export function makeAxis(name, values, kind = {}) {
  const present = values.filter((v) => v !== undefined && v !== null);
  const allNum = present.length > 0 && present.every(isNum);
  const a = { name, log: false, cat: false, count: present.length };
  if (allNum && !kind.cat) {
    let min = Infinity, max = -Infinity;
    for (const v of present) { if (v < min) min = v; if (v > max) max = v; }
    a.log = !!kind.log && min > 0;
    a.min = min; a.max = max;
    const f = a.log ? Math.log10 : (x) => x;
    const lo = f(min), span = f(max) - lo;
    a.pos = (v) => (isNum(v) ? (span > 0 ? (f(v) - lo) / span : 0.5) : null);
    a.at = (p) => (a.log ? Math.pow(10, lo + p * span) : lo + p * span);
    return a;
  }
  a.cat = true;
  const keyOf = (v) => (typeof v === 'string' ? `s:${v}` : `j:${JSON.stringify(v)}`);
  const uniq = new Map();
  for (const v of present) if (!uniq.has(keyOf(v))) uniq.set(keyOf(v), v);
  const cats = [...uniq.values()].sort((x, y) => (isNum(x) && isNum(y) ? x - y : String(x).localeCompare(String(y))));
  const index = new Map(cats.map((v, i) => [keyOf(v), i]));
  a.cats = cats;
  a.pos = (v) => {
    if (v === undefined || v === null) return null;
    const i = index.get(keyOf(v));
    if (i === undefined) return null;
    return cats.length === 1 ? 0.5 : i / (cats.length - 1);
  };
  a.at = (p) => cats[Math.max(0, Math.min(cats.length - 1, Math.round(p * (cats.length - 1))))];
  return a;
}

// The metric's best so far against trial number, over the trials with a
// value (ordered by num): {x: nums, best: [...], value: [...]}.
export function bestSoFar(trials, maximize) {
  const done = trials.filter((t) => isNum(t.value)).sort((a, b) => a.num - b.num);
  const x = [], best = [], value = [];
  let b = null;
  for (const t of done) {
    if (b === null || (maximize ? t.value > b : t.value < b)) b = t.value;
    x.push(t.num); best.push(b); value.push(t.value);
  }
  return { x, best, value };
}

// Pearson correlation of paired finite values; null below 3 pairs or with
// no spread.
export function pearson(xs, ys) {
  let n = 0, sx = 0, sy = 0;
  for (let i = 0; i < xs.length; i++) if (Number.isFinite(xs[i]) && Number.isFinite(ys[i])) { n++; sx += xs[i]; sy += ys[i]; }
  if (n < 3) return null;
  const mx = sx / n, my = sy / n;
  let cxy = 0, cxx = 0, cyy = 0;
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isFinite(xs[i]) || !Number.isFinite(ys[i])) continue;
    const dx = xs[i] - mx, dy = ys[i] - my;
    cxy += dx * dy; cxx += dx * dx; cyy += dy * dy;
  }
  if (cxx <= 0 || cyy <= 0) return null;
  return cxy / Math.sqrt(cxx * cyy);
}

// The correlation ratio η of a categorical feature (category indices) with
// y: sqrt(between-group variance / total variance), in [0, 1] like |r|.
export function correlationRatio(cats, ys) {
  const groups = new Map();
  let n = 0, s = 0;
  for (let i = 0; i < cats.length; i++) {
    if (!Number.isFinite(cats[i]) || !Number.isFinite(ys[i])) continue;
    const g = groups.get(cats[i]) || { n: 0, s: 0 };
    g.n++; g.s += ys[i];
    groups.set(cats[i], g);
    n++; s += ys[i];
  }
  if (n < 3 || groups.size < 2) return null;
  const m = s / n;
  let tot = 0;
  for (let i = 0; i < cats.length; i++) if (Number.isFinite(cats[i]) && Number.isFinite(ys[i])) tot += (ys[i] - m) ** 2;
  if (tot <= 0) return null;
  let between = 0;
  for (const g of groups.values()) between += g.n * (g.s / g.n - m) ** 2;
  return Math.sqrt(between / tot);
}

// mulberry32: a small seeded PRNG, [0, 1).
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Impurity (variance-reduction) importance of each feature from a random
// forest of regression trees: features[f][i] is sample i's value of
// feature f (NaN: absent, which sorts below every value, so "absent" is a
// side of a split like any other), y[i] the metric. Bootstrap samples of
// opts.samples rows (default: all; sklearn's max_samples), all
// features tried at every split (a regression forest's usual default),
// depth ≤ opts.depth, leaves ≥ opts.minLeaf samples. Answers importances
// summing to 1 (all 0 when no split helps).
export function forestImportance(features, values, opts = {}) {
  const nf = features.length, n = values.length;
  const trees = opts.trees || 50, depth = opts.depth || 8, minLeaf = opts.minLeaf || 3;
  const size = Math.min(n, opts.samples || n); // each tree's bootstrap sample
  const y = Float64Array.from(values);
  const imp = new Float64Array(nf);
  if (!nf || n < 4) return Array.from(imp);
  const rand = prng(opts.seed === undefined ? 1 : opts.seed);
  // Features with NaN mapped below their minimum, as Float64Arrays.
  const X = features.map((col) => {
    let min = Infinity;
    for (const v of col) if (Number.isFinite(v) && v < min) min = v;
    const low = Number.isFinite(min) ? min - 1 : 0;
    return Float64Array.from(col, (v) => (Number.isFinite(v) ? v : low));
  });
  // order[f]: the current tree's bootstrap sample (row indices, a row as
  // often as it was drawn) sorted by feature f; a node owns [lo, hi) of
  // every order. Equal values are never split apart, so all copies of a
  // row go to the same side.
  const order = X.map(() => new Int32Array(size));
  const left = new Uint8Array(n);
  const scratch = new Int32Array(size);
  const rootOrder = X.map((col) => Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => col[a] - col[b]));
  const count = new Int32Array(n);

  for (let t = 0; t < trees; t++) {
    count.fill(0);
    for (let i = 0; i < size; i++) count[Math.floor(rand() * n)]++;
    // Positions in each feature's sorted order: the root order with each
    // row repeated as often as the bootstrap drew it.
    for (let f = 0; f < nf; f++) {
      let p = 0;
      for (const r of rootOrder[f]) for (let c = 0; c < count[r]; c++) order[f][p++] = r;
    }
    split(0, size, 0);
  }

  // The SSE of a split is ss - (ls²/nl + rs²/nr), so the best split is
  // the one with the largest ls²/nl + rs²/nr; its gain is that minus s²/m.
  function split(lo, hi, d) {
    const m = hi - lo;
    if (d >= depth || m < 2 * minLeaf) return;
    const ord0 = order[0];
    let s = 0, ss = 0;
    for (let i = lo; i < hi; i++) { const v = y[ord0[i]]; s += v; ss += v * v; }
    const base = (s * s) / m;
    if (!(ss - base > 1e-12)) return;
    let bestScore = base, bestF = -1, bestAt = -1;
    const first = lo + minLeaf - 1, end = hi - minLeaf; // left sides of minLeaf..m-minLeaf samples
    for (let f = 0; f < nf; f++) {
      const ord = order[f], col = X[f];
      let ls = 0;
      for (let i = lo; i < first; i++) ls += y[ord[i]];
      for (let i = first; i < end; i++) {
        const r = ord[i];
        ls += y[r];
        if (col[r] === col[ord[i + 1]]) continue;
        const nl = i - lo + 1, rs = s - ls;
        const score = (ls * ls) / nl + (rs * rs) / (m - nl);
        if (score > bestScore) { bestScore = score; bestF = f; bestAt = i; }
      }
    }
    const bestGain = bestScore - base;
    if (bestF < 0) return;
    imp[bestF] += bestGain;
    const ordB = order[bestF];
    for (let i = lo; i < hi; i++) left[ordB[i]] = i <= bestAt ? 1 : 0;
    // Stable partition of every feature's order: each side stays sorted.
    for (let f = 0; f < nf; f++) {
      if (f === bestF) continue;
      const ord = order[f];
      let a = lo, b = 0;
      for (let i = lo; i < hi; i++) { const r = ord[i]; if (left[r]) ord[a++] = r; else scratch[b++] = r; }
      for (let i = 0; i < b; i++) ord[a + i] = scratch[i];
    }
    const mid = bestAt + 1;
    split(lo, mid, d + 1);
    split(mid, hi, d + 1);
  }

  let tot = 0;
  for (const v of imp) tot += v;
  return Array.from(imp, (v) => (tot > 0 ? v / tot : 0));
}

// 50 trees of depth 8, each grown on 300 trials drawn with replacement (all
// of them when fewer): the cost stops growing with the sweep (1,000 trials
// × 6 parameters in ~25 ms warm) while the trees together still see every trial.
const FOREST = { trees: 50, depth: 8, minLeaf: 3, samples: 300, seed: 1 };

// Importance of each parameter for the metric over the trials with a
// value: [{name, corr (|r| or η, null when undefined), forest (share)}].
// axes[j] is parameter j's axis and pos[j][i] trial i's position on it
// (NaN: none): a position is an affine map of the value (of its log10 on
// a log axis, of its category index on a categorical one), which changes
// neither a correlation's size nor a tree's splits, so the positions the
// plots use serve as the features.
export function importance(axes, pos, values) {
  const rows = [];
  for (let i = 0; i < values.length; i++) if (isNum(values[i])) rows.push(i);
  const y = rows.map((i) => values[i]);
  const features = pos.map((p) => rows.map((i) => p[i]));
  const forest = forestImportance(features, y, FOREST);
  return axes.map((a, j) => {
    const c = a.cat ? correlationRatio(features[j], y) : pearson(features[j], y);
    return { name: a.name, corr: c === null ? null : Math.abs(c), forest: forest[j] || 0 };
  });
}

// A trial's duration in seconds (running ones up to now), or null.
export function trialDuration(t) {
  if (!t.started_at) return null;
  const end = t.finished_at || (t.state === 'running' || t.state === 'leased' ? Date.now() / 1000 : null);
  return end ? end - t.started_at : null;
}
