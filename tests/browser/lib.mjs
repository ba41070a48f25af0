// lib.mjs — what the browser tests and benchmarks share: a real `wb server`
// (the built binary) in a temp directory, filled through the real SDK by
// wb_fill, and Debian's chromium driven by playwright-core (never a
// downloaded browser). Waits are conditions with timeouts, never sleeps.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync, mkdirSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';

export const WB_BIN = process.env.WB_BIN;
export const WB_FILL = process.env.WB_FILL;
export const WEB_DIR = process.env.WB_WEB_DIR;
const MODULES = process.env.WB_WEB_MODULES;
export const CHROMIUM = process.env.WB_CHROMIUM || '/usr/bin/chromium';

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
  const s = {
    root, url, key, proc, config,
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
export async function newPage(ctx, key) {
  const page = await ctx.newPage();
  page.errors = [];
  page.dialogs = [];
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text()); });
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('dialog', (d) => { page.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  if (key) await page.addInitScript((k) => localStorage.setItem('wb.apiKey', k), key);
  return page;
}

// Open a path and wait until the app has rendered it.
export async function open(page, url, path) {
  await page.goto(url + path);
  await page.waitForFunction(() => window.__wb && window.__wb.ready === true, null, { timeout: 20000 });
}
