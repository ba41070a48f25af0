// artifacts.test.mjs — the artifact pages in Debian's chromium against a
// real server: the list, an artifact's versions, a version page (files,
// metadata, aliases, the lineage graph runs → version → runs) and the run
// page's artifact section, with hostile strings in file paths, metadata
// and run names shown as text. Data goes in through the real HTTP API: a
// blob upload, a version commit naming its producing run, and a run log
// frame (ARTIFACT_USE, schema/wire.md) for the consuming run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, newPage, open, waitFor } from './lib.mjs';

const SHOTS = process.env.WB_SCREENSHOTS_DIR;
const P = '/projects/team/demo';
const XSS_PATH = 'dir/<img src=x onerror="window.__xss=1">.txt';
let srv, ctx;

// zlib's crc32, for run log frames (schema/wire.md).
const CRC = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function frame(seq, type, payload) {
  const body = Buffer.alloc(9 + payload.length);
  body.writeBigUInt64LE(BigInt(seq), 0);
  body.writeUInt8(type, 8);
  payload.copy(body, 9);
  const head = Buffer.alloc(8);
  head.writeUInt32LE(payload.length, 0);
  head.writeUInt32LE(crc32(body), 4);
  return Buffer.concat([head, body]);
}

async function call(method, path, body, headers = {}) {
  const res = await fetch(`${srv.url}/api/v1${path}`, { method, headers: { Authorization: `Bearer ${srv.key}`, ...headers }, body });
  const text = await res.text();
  return { status: res.status, json: text && text[0] === '{' ? JSON.parse(text) : null, text };
}

async function shot(page, name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function noXss(page) {
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'an XSS payload executed');
  assert.equal(await page.evaluate(() => document.querySelectorAll('#app script, #app img').length), 0);
}

before(async () => {
  srv = await startServer();
  ctx = await launch(srv.root);
  const json = { 'Content-Type': 'application/json' };
  assert.equal((await call('PUT', `${P}/runs/prod1`, JSON.stringify({ name: '<img src=x onerror="window.__xss=1">' }), json)).status, 201);
  assert.equal((await call('PUT', `${P}/runs/cons1`, JSON.stringify({ name: 'consumer' }), json)).status, 201);
  const content = Buffer.from('hello artifact\n'.repeat(100));
  const sha = createHash('sha256').update(content).digest('hex');
  const up = await call('PUT', `${P}/artifacts/blobs/${sha}?offset=0&size=${content.length}`, content,
    { 'X-Chunk-Sha256': sha, 'Content-Type': 'application/octet-stream' });
  assert.equal(up.status, 200, up.text);
  assert.equal(up.json.complete, true);
  const manifest = {
    type: 'model', run_id: 'prod1', aliases: ['best'],
    metadata: { note: '<script>window.__xss=1</script>', acc: 0.93 },
    files: [
      { path: 'weights.bin', sha256: sha, size: content.length },
      { path: XSS_PATH, sha256: sha, size: content.length },
      { path: 'data/train.csv', sha256: 'a'.repeat(64), size: 42, ref: 's3://bucket/train.csv' },
    ],
  };
  const c = await call('POST', `${P}/artifacts/model`, JSON.stringify(manifest), json);
  assert.equal(c.status, 201, c.text);
  const use = frame(1, 12, Buffer.from(JSON.stringify({ artifact: 'model', version: 0 })));
  const r = await call('POST', `${P}/runs/cons1/records`, use, { 'Content-Type': 'application/x-wb-frames' });
  assert.equal(r.status, 200, r.text);
});

// Signed in with a password (a session cookie, no key in the page), as
// people are: the download button saves the file's exact bytes.
test('download after a password sign-in saves the file', async () => {
  const page = await newPage(ctx, srv);
  await open(page, srv.url, '/team/demo/artifacts/model/v0');
  assert.equal(await page.evaluate(() => localStorage.getItem('wb.apiKey')), null);
  const row = page.locator('#files tr', { has: page.locator('code.file-path', { hasText: /^weights\.bin$/ }) });
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 20000 }), row.locator('button.download').click()]);
  assert.equal(dl.suggestedFilename(), 'weights.bin');
  assert.deepEqual(readFileSync(await dl.path()), Buffer.from('hello artifact\n'.repeat(100)));
  assert.deepEqual(page.errors, []);
  await page.close();
});

after(async () => {
  if (ctx) await ctx.close();
  if (srv) await srv.stop();
});

test('artifacts list, versions, version page with lineage, run page links; user strings are text', async () => {
  const page = await newPage(ctx, srv.key); // a pasted key; the download test below signs in with a password
  await open(page, srv.url, '/team/demo/artifacts');
  assert.equal(await page.textContent('#artifacts a.artifact-link'), 'model');
  await shot(page, 'artifacts');
  await page.click('#artifacts a.artifact-link');
  await waitFor(() => page.evaluate(() => location.pathname === '/team/demo/artifacts/model' && window.__wb.ready), 20000, 'artifact page');
  assert.match(await page.textContent('#versions'), /v0/);
  assert.match(await page.textContent('#versions'), /best/);

  // an alias URL shows the version; its permanent link names vN
  await open(page, srv.url, '/team/demo/artifacts/model/best');
  assert.equal(await page.getAttribute('#permalink', 'href'), '/team/demo/artifacts/model/v0');
  const paths = await page.$$eval('#files code.file-path', (els) => els.map((e) => e.textContent));
  assert.deepEqual(paths.sort(), ['data/train.csv', 'weights.bin', XSS_PATH].sort());
  assert.match(await page.textContent('#art-metadata'), /<script>window.__xss=1<\/script>/);
  assert.match(await page.textContent('#files'), /reference: s3:\/\/bucket\/train.csv/);
  // lineage: producer and consumer are links to their run pages
  const links = await page.$$eval('#lineage a.lineage-run', (els) => els.map((a) => a.getAttribute('href')).sort());
  assert.deepEqual(links, ['/team/demo/runs/cons1', '/team/demo/runs/prod1']);
  assert.match(await page.textContent('#lineage'), /model:v0/);
  assert.match(await page.textContent('#lineage'), /<img src=x onerror=/);
  await noXss(page);
  await shot(page, 'artifact-version');

  // from the graph to the consuming run, whose page lists what it used
  await page.click('#lineage a.lineage-run[href="/team/demo/runs/cons1"]');
  await waitFor(() => page.evaluate(() => location.pathname === '/team/demo/runs/cons1' && window.__wb.ready), 20000, 'run page');
  await page.waitForSelector('#run-used a', { timeout: 20000 });
  assert.equal(await page.getAttribute('#run-used a', 'href'), '/team/demo/artifacts/model/v0');
  await open(page, srv.url, '/team/demo/runs/prod1');
  await page.waitForSelector('#run-produced a', { timeout: 20000 });
  assert.equal(await page.textContent('#run-produced a'), 'model:v0');
  await noXss(page);

  // a version that does not exist is an error box, not a blank page
  await open(page, srv.url, '/team/demo/artifacts/model/v7');
  assert.match(await page.textContent('#app'), /no version v7/);
  assert.deepEqual(page.dialogs, []);
  await page.close();
});
