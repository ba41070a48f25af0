// lib.mjs — what the browser tests and benchmarks share: a real `wb server`
// (the built binary) in a temp directory, filled through the real SDK by
// wb_fill, and Debian's chromium driven by playwright-core (never a
// downloaded browser). Waits are conditions with timeouts, never sleeps.
//
// Signing in: every page a test opens gets its credentials from ONE helper,
// authenticate(page, auth), called by newPage(ctx, auth): `srv` (the
// server object) signs in as its admin with a password and a session cookie
// (the browser's way), a string is an API key (the paste-a-key way), and
// nothing leaves the page signed out. startServer sets the admin's password
// through the one-time setup link the server logs on its first start.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync, mkdirSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';

export const WB_BIN = process.env.WB_BIN;
export const WB_FILL = process.env.WB_FILL;
export const WEB_DIR = process.env.WB_WEB_DIR;
const MODULES = process.env.WB_WEB_MODULES;
export const CHROMIUM = process.env.WB_CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.WB_SCREENSHOTS_DIR;

export async function waitFor(cond, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 20)); // poll interval of a condition wait
  }
}

export async function startServer(extra = []) {
  const root = mkdtempSync(join(tmpdir(), 'wb-browser-'));
  const data = join(root, 'data'), config = join(root, 'config');
  mkdirSync(config, { recursive: true });
  const env = { ...process.env, WB_CONFIG_DIR: config };
  // The server's log goes to a file, not a pipe: wb_fill runs synchronously
  // (spawnSync) and a pipe nobody reads would fill up and stall the server.
  const logPath = join(root, 'server.log');
  const logFd = openSync(logPath, 'w');
  const proc = spawn(WB_BIN, ['server', '--data', data, '--port', '0', '--web', WEB_DIR, ...extra],
    { env, stdio: ['ignore', 'ignore', logFd] });
  closeSync(logFd);
  const log = () => readFileSync(logPath, 'utf8');
  const urlFile = join(data, 'server.url');
  await waitFor(() => existsSync(urlFile) || proc.exitCode !== null, 30000, 'server.url');
  if (proc.exitCode !== null) throw new Error(`wb server exited: ${log()}`);
  const url = readFileSync(urlFile, 'utf8').trim();
  const settings = readFileSync(join(config, 'settings'), 'utf8');
  const key = /^api_key=(.*)$/m.exec(settings)[1].trim();
  // The admin's password, set through the setup link of the first start.
  const password = 'browser-test-password';
  const token = await waitFor(() => (/\/setup\?token=([A-Za-z0-9_]+)/.exec(log()) || [])[1], 10000, 'setup link in the log');
  const setupRes = await fetch(`${url}/api/v1/auth/setup`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token, password }) });
  if (setupRes.status !== 200) throw new Error(`setting the admin password failed: ${setupRes.status} ${await setupRes.text()}`);
  const s = {
    root, url, key, proc, config, user: 'admin', password,
    // Sign in as name (default: the admin) through the API; the session cookie's value.
    async login(name = 'admin', pw = password) {
      const res = await fetch(`${url}/api/v1/auth/login`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, password: pw }) });
      if (res.status !== 200) throw new Error(`login as ${name} failed: ${res.status}`);
      return /wb_session=([^;]+)/.exec(res.headers.get('set-cookie'))[1];
    },
    log,
    env: { ...process.env, WB_CONFIG_DIR: config, WB_BASE_URL: url, WB_API_KEY: key, WB_DIR: join(root, 'runs') },
    async api(path, opts = {}) {
      const res = await fetch(`${url}/api/v1${path}`, {
        method: opts.method || 'GET',
        headers: { Authorization: `Bearer ${key}`, ...(opts.body ? { 'Content-Type': 'application/json' } : {}) },
        body: opts.body ? JSON.stringify(opts.body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : null, headers: res.headers };
    },
    fill(...args) {
      return s.fillIn(undefined, ...args);
    },
    // wb_fill run from directory cwd (a git repository, for code capture)
    fillIn(cwd, ...args) {
      const r = spawnSync(WB_FILL, args, { cwd, env: s.env, encoding: 'utf8', maxBuffer: 64 << 20 });
      if (r.status !== 0) throw new Error(`wb_fill ${args.join(' ')} failed: ${r.stderr}`);
      return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    },
    async stop() {
      if (proc.exitCode === null) {
        const done = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await done;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
  return s;
}

export async function launch(root) {
  const require = createRequire(resolve(MODULES, '..', 'package.json'));
  const { chromium } = require('playwright-core');
  const userDataDir = mkdtempSync(join(root || tmpdir(), 'chromium-'));
  const ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    // The server's CSP forbids eval, which Playwright's waitForFunction
    // needs; the XSS test is stronger without the CSP's help anyway.
    bypassCSP: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  return ctx;
}

// A page that records console errors, page errors and dialogs (an XSS
// payload that ran would most likely show up as one of them).
// The one place a browser page gets credentials (see the top of this file).
// auth: the server object (a session cookie for its admin, or for
// auth.as = {name, password}), an API key string, or undefined (signed out).
export async function authenticate(page, auth) {
  if (!auth) return;
  if (typeof auth === 'string') {
    await page.addInitScript((k) => localStorage.setItem('wb.apiKey', k), auth);
    return;
  }
  const who = auth.as || { name: auth.user, password: auth.password };
  // One session per browser profile, as a person with several tabs has: a
  // second sign-in would replace the cookie under the other pages.
  const have = (await page.context().cookies(auth.url)).find((c) => c.name === 'wb_session' && c.value);
  if (have) {
    const res = await fetch(`${auth.url}/api/v1/auth/session`, { headers: { Cookie: `wb_session=${have.value}` } });
    const s = await res.json();
    if (s.user && s.user.name === who.name) {
      await page.addInitScript(() => localStorage.removeItem('wb.apiKey'));
      return;
    }
  }
  const cookie = await auth.login(who.name, who.password);
  await page.context().addCookies([{ name: 'wb_session', value: cookie, url: auth.url, httpOnly: true, sameSite: 'Strict' }]);
  await page.addInitScript(() => localStorage.removeItem('wb.apiKey'));
}

export async function newPage(ctx, auth) {
  const page = await ctx.newPage();
  page.errors = [];
  page.dialogs = [];
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text()); });
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('dialog', (d) => { page.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  await authenticate(page, auth);
  return page;
}

// Open a path and wait until the app has rendered it.
export async function open(page, url, path) {
  await page.goto(url + path);
  await page.waitForFunction(() => window.__wb && window.__wb.ready === true, null, { timeout: 20000 });
}

// A screenshot into $WB_SCREENSHOTS_DIR/<name>.png (README's pictures), if set.
// type 'jpeg' (quality 85) for pictures a PNG holds badly, such as a thousand antialiased lines.
export async function shot(page, name, fullPage = false, type = 'png') {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  if (type === 'jpeg') await page.screenshot({ path: join(SHOTS, `${name}.jpg`), fullPage, type, quality: 85 });
  else await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
}

// No console error (but those matching allow: the browser logs every 4xx
// answer, which some steps expect) and no dialog.
export function noErrors(page, allow = /status of 40[134]/) {
  assert.deepEqual(page.errors.filter((e) => !allow.test(e)), [], 'console errors');
  assert.deepEqual(page.dialogs, [], 'dialogs');
}

// The payloads of wb_fill and the tests set window.__xss if they ever run;
// none of their elements may exist in the page as markup.
export async function noXss(page) {
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'an XSS payload executed');
  assert.equal(await page.evaluate(() => document.querySelectorAll('#app script, #app img[onerror], #app [onerror], #app a[href^="javascript"]').length), 0);
}

// A sweep of n trials driven through the API the way agents drive one:
// POST the spec to team/<project>, `next` n times (`agents` asking at
// once), each trial's run made through libwb by `wb_fill trials` (its
// params as config, `metric` logged ending at value(params)), then
// `finish` each trial by its agent. Answers {id, trials: [{num, run_id, params, agent, value}]}.
export async function fillSweep(srv, project, spec, n, value, agents = 8) {
  const base = `/projects/team/${project}/sweeps`;
  const made = await srv.api(base, { method: 'POST', body: spec });
  if (made.status !== 201) throw new Error(`creating the sweep: ${made.status} ${JSON.stringify(made.json)}`);
  const id = made.json.id;
  const issued = [];
  const each = async (list, fn) => {
    let next = 0;
    await Promise.all(Array.from({ length: agents }, async (_, a) => {
      while (next < list.length) await fn(list[next++], a);
    }));
  };
  await each(Array.from({ length: n }), async (_, a) => {
    const agent = `browser-test:${a}`;
    const r = await srv.api(`${base}/${id}/next`, { method: 'POST', body: { agent } });
    if (r.status !== 200 || !r.json.trial) throw new Error(`next: ${r.status} ${JSON.stringify(r.json)}`);
    issued.push({ ...r.json.trial, agent, value: value(r.json.trial.params) });
  });
  issued.sort((x, y) => x.num - y.num);
  const flat = (o, pre = '') => Object.entries(o).flatMap(([k, v]) =>
    (v && typeof v === 'object' ? flat(v, `${pre}${k}.`) : [`${pre}${k}=${v}`]));
  const input = issued.map((t) => [t.run_id, String(t.value), ...flat(t.params)].join(' ')).join('\n');
  // Not spawnSync: a blocked event loop would miss the server closing the
  // idle keep-alive connections, and the finishes below would go out on them.
  const fill = spawn(WB_FILL, ['trials', project, spec.metric.name], { env: srv.env, stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  fill.stderr.on('data', (d) => { err += d; });
  fill.stdin.end(input);
  const code = await new Promise((r) => fill.once('exit', r));
  if (code !== 0) throw new Error(`wb_fill trials failed: ${err}`);
  await each(issued, async (t) => {
    const r = await srv.api(`${base}/${id}/trials/${t.num}/finish`, { method: 'POST', body: { agent: t.agent, exit_code: 0 } });
    if (r.status !== 200) throw new Error(`finish ${t.num}: ${r.status} ${JSON.stringify(r.json)}`);
  });
  return { id, trials: issued };
}
