// notify.test.mjs — the notifications UI in a real browser against a real
// server: webhooks (project and user), rules, the delivery log. Run by
// ctest (test_browser_notify).
//
// The webhook is a local HTTP receiver (node http on port 0), so the
// server runs with --webhook-private yes. A run finished through the SDK
// (wb_fill) must reach the receiver as a Slack message and show in the
// delivery log. The webhook URL holds a secret the page must never show:
// it is checked in the page's HTML, every API answer the page received and
// the server's log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startServer, launch, newPage, open, waitFor, shot, noErrors, noXss } from './lib.mjs';

const PROJECT = '/projects/team/notify';
const SECRET = 'T0SECRET/B0SECRET/xoxSecretToken42';
// wb_fill demo's single run is its XSS run, named so.
const RUN_NAME = '<script>window.__xss=1</script><img src=x onerror="window.__xss=1">';
const VIEWER = { name: 'vic', password: 'vic password 1' };
let srv, receiver, hookUrl;
const received = []; // {path, body} of each request the receiver got
const contexts = [];

async function browser() {
  const ctx = await launch(srv.root);
  contexts.push(ctx);
  return ctx;
}

// 400 and 403 answers are the point of some steps; chromium logs each as a console error.
const ANSWERS_4XX = /status of 40[0134]/;

// Every /api/v1 answer the page receives, to look for the secret in.
function recordAnswers(page) {
  const answers = [];
  page.on('response', (r) => {
    if (new URL(r.url()).pathname.startsWith('/api/v1/')) answers.push(r.text().catch(() => ''));
  });
  return async () => Promise.all(answers);
}

async function assertNotInPage(page) {
  const html = await page.content();
  assert.ok(!html.includes(SECRET) && !html.includes(hookUrl), 'the webhook URL is in the page');
}

async function assertNoSecret(page, answers) {
  await assertNotInPage(page);
  const bodies = await answers();
  assert.ok(bodies.length > 0);
  for (const b of bodies) assert.ok(!b.includes(SECRET), `an API answer holds the webhook URL: ${b.slice(0, 200)}`);
  assert.ok(!srv.log().includes(SECRET), 'the server logged the webhook URL');
}

before(async () => {
  receiver = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  // Ends in "/slack": the hint shows the URL's last four characters, never the secret.
  hookUrl = `http://127.0.0.1:${receiver.address().port}/services/${SECRET}/slack`;
  srv = await startServer(['--webhook-private', 'yes']);
  assert.equal((await srv.api(PROJECT, { method: 'PUT', body: { visibility: 'private' } })).status, 200);
  // A second user, a viewer of the project.
  const u = await srv.api('/users', { method: 'POST', body: { name: VIEWER.name } });
  assert.equal(u.status, 201);
  const token = new URLSearchParams(u.json.setup_path.split('?')[1]).get('token');
  const setup = await fetch(`${srv.url}/api/v1/auth/setup`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token, password: VIEWER.password }) });
  assert.equal(setup.status, 200);
  assert.equal((await srv.api(`${PROJECT}/members/${VIEWER.name}`, { method: 'PUT', body: { role: 'viewer' } })).status, 200);
});

after(async () => {
  for (const c of contexts) await c.close();
  if (srv) await srv.stop();
  if (receiver) await new Promise((r) => receiver.close(r));
});

test('project admin: a webhook and rules, a finished run reaches the receiver and the delivery log, then both are deleted', async () => {
  const page = await newPage(await browser(), srv);
  const answers = recordAnswers(page);
  await open(page, srv.url, '/team/notify/settings');
  await page.waitForSelector('#project-webhooks .add-webhook');
  await page.waitForSelector('#deliveries');
  // A bad URL: the server's reason, which does not repeat the URL.
  await page.fill('#project-webhooks .webhook-url', `ftp://example.org/${SECRET}`);
  await page.click('#project-webhooks .add-webhook button[type=submit]');
  await page.waitForSelector('#project-webhooks-msg.error');
  assert.equal(await page.textContent('#project-webhooks-msg'), 'url must start with https:// (or http://) (400)');
  // The receiver, for every event but "crashed".
  await page.fill('#project-webhooks .webhook-url', hookUrl);
  await page.uncheck('#project-webhooks input[name=event][value=crashed]');
  await page.click('#project-webhooks .add-webhook button[type=submit]');
  await page.waitForSelector('#project-webhooks-table tbody tr');
  const row = await page.textContent('#project-webhooks-table tbody tr');
  assert.ok(row.includes(`127.0.0.1:${receiver.address().port}…lack`), row);
  assert.ok(row.includes('finished, failed, alert, rule'), row);
  assert.equal(await page.inputValue('#project-webhooks .webhook-url'), '', 'the URL is forgotten once sent');
  await assertNotInPage(page);
  const hooks = (await srv.api(`${PROJECT}/webhooks`)).json.webhooks;
  assert.equal(hooks.length, 1);
  assert.deepEqual(hooks[0].events, ['finished', 'failed', 'alert', 'rule']);

  // Rules: one that every run fires, a bad one (the server's message), XSS payloads as keys.
  const addRule = async (text) => {
    await page.fill('#rule-text', text);
    await page.click('#add-rule button[type=submit]');
  };
  await addRule('summary loss < 1000000');
  await page.waitForSelector('#rules-table tbody tr');
  assert.match(await page.textContent('#rules-table'), /summary loss < 1000000/);
  await addRule('summary loss >> 2');
  await page.waitForSelector('#rules-msg.error');
  assert.equal(await page.textContent('#rules-msg'), 'summary rule: the operator is one of > >= < <= == != (400)');
  assert.equal(await page.inputValue('#rule-text'), 'summary loss >> 2', 'a refused rule stays in the box to be fixed');
  await addRule('summary <script>window.__xss=1</script> > 2');
  await page.waitForFunction(() => document.querySelectorAll('#rules-table tbody tr').length === 2);
  await addRule('summary <img/src=x/onerror=window.__xss=1> > 2');
  await page.waitForFunction(() => document.querySelectorAll('#rules-table tbody tr').length === 3);
  const rules = await page.textContent('#rules-table');
  assert.ok(rules.includes('summary <script>window.__xss=1</script> > 2'), rules);
  assert.ok(rules.includes('summary <img/src=x/onerror=window.__xss=1> > 2'), rules);
  await noXss(page);

  // A run (named with XSS payloads) finishes through the SDK: "rule" and "finished" reach the receiver.
  const [run] = srv.fill('demo', 'notify', '1', '20');
  const msgs = await waitFor(() => {
    const m = received.filter((r) => r.body.includes(run.id)).map((r) => ({ path: r.path, ...JSON.parse(r.body) }));
    return m.length >= 2 && m;
  }, 30000, 'two Slack messages at the receiver');
  assert.equal(msgs.length, 2);
  for (const m of msgs) {
    assert.equal(m.path, `/services/${SECRET}/slack`);
    assert.ok(Array.isArray(m.blocks) && m.blocks.length > 0);
  }
  assert.ok(msgs.some((m) => /finished/.test(m.text)), JSON.stringify(msgs));
  assert.ok(msgs.some((m) => JSON.stringify(m).includes('summary loss &lt; 1000000')), JSON.stringify(msgs));
  // The server records each as delivered once the receiver's 200 is in; then the log shows them.
  await waitFor(async () => {
    const d = (await srv.api(`${PROJECT}/deliveries`)).json.deliveries;
    return d.length === 2 && d.every((x) => x.state === 'delivered');
  }, 30000, 'two delivered deliveries');
  await page.click('#deliveries-refresh');
  await page.waitForFunction(() => document.querySelectorAll('#deliveries-table tr[data-state=delivered]').length === 2);
  const log = await page.$$eval('#deliveries-table tbody tr', (rs) => rs.map((r) => [...r.cells].map((c) => c.textContent)));
  assert.deepEqual(log.map((c) => c[1]).sort(), ['finished', 'rule']);
  for (const c of log) {
    assert.equal(c[2], RUN_NAME, 'the run is named, as text');
    assert.equal(c[3], 'delivered http 200');
    assert.equal(c[4], '1');
    assert.equal(c[5], '');
  }
  assert.deepEqual(await page.$$eval('#deliveries-table a', (as) => as.map((a) => a.getAttribute('href'))),
    [`/team/notify/runs/${run.id}`, `/team/notify/runs/${run.id}`]);
  // Opened again: the rule counts the run it fired for.
  await open(page, srv.url, '/team/notify/settings');
  await page.waitForSelector('#deliveries-table');
  await page.waitForSelector('#rules-table');
  assert.deepEqual(await page.$$eval('#rules-table tbody tr', (rs) => rs.map((r) => [r.cells[0].textContent, r.cells[1].textContent])),
    [['summary loss < 1000000', '1'], ['summary <script>window.__xss=1</script> > 2', '0'], ['summary <img/src=x/onerror=window.__xss=1> > 2', '0']]);
  await noXss(page);
  await shot(page, 'notifications', true);

  // Delete the webhook, then every rule.
  await page.click('#project-webhooks-table .delete-webhook');
  await page.waitForFunction(() => !document.querySelector('#project-webhooks-table') && /No webhooks\./.test(document.querySelector('#project-webhooks').textContent));
  assert.deepEqual((await srv.api(`${PROJECT}/webhooks`)).json.webhooks, []);
  for (let n = 3; n > 0; n--) {
    await page.click('#rules-table tbody tr .delete-rule');
    await page.waitForFunction((left) => document.querySelectorAll('#rules-table tbody tr').length === left, n - 1);
  }
  await page.waitForFunction(() => /No rules\./.test(document.querySelector('#rules').textContent));
  assert.deepEqual((await srv.api(`${PROJECT}/rules`)).json.rules, []);
  await noXss(page);
  await assertNoSecret(page, answers);
  noErrors(page, ANSWERS_4XX);
  await page.close();
});

test('a viewer reads the rules and gets no controls; a refusal after a role change is shown, not thrown', async () => {
  const rule = await srv.api(`${PROJECT}/rules`, { method: 'POST', body: { rule: 'no step for 15 min' } });
  assert.equal(rule.status, 201);
  const who = { ...srv, as: VIEWER };
  const page = await newPage(await browser(), who);
  await open(page, srv.url, '/team/notify/settings');
  await page.waitForSelector('#rules-table tbody tr');
  assert.match(await page.textContent('#rules-table'), /no step for 15 min/);
  assert.match(await page.textContent('#project-webhooks-msg'), /Project admins manage the webhooks/);
  assert.match(await page.textContent('#rules-readonly'), /Editors and admins/);
  for (const sel of ['.add-webhook', '.delete-webhook', '#add-rule', '.delete-rule', '#deliveries', '#project-members'])
    assert.equal(await page.$(sel), null, `a viewer sees ${sel}`);

  // Made an admin, vic opens the page; demoted while it is open, the next add is refused by the server.
  assert.equal((await srv.api(`${PROJECT}/members/${VIEWER.name}`, { method: 'PUT', body: { role: 'admin' } })).status, 200);
  await open(page, srv.url, '/team/notify/settings');
  await page.waitForSelector('#project-webhooks .add-webhook');
  await page.waitForSelector('#deliveries-table');
  assert.equal((await srv.api(`${PROJECT}/members/${VIEWER.name}`, { method: 'PUT', body: { role: 'viewer' } })).status, 200);
  await page.fill('#project-webhooks .webhook-url', hookUrl);
  await page.click('#project-webhooks .add-webhook button[type=submit]');
  await page.waitForSelector('#project-webhooks-msg.error');
  assert.match(await page.textContent('#project-webhooks-msg'), /\(403\)$/);
  await page.click('#rules-table .delete-rule');
  await page.waitForSelector('#rules-msg.error');
  assert.match(await page.textContent('#rules-msg'), /\(403\)$/);
  await page.click('#deliveries-refresh');
  await page.waitForSelector('#deliveries-msg.error');
  assert.equal(await page.$('#deliveries-table'), null);
  assert.deepEqual((await srv.api(`${PROJECT}/webhooks`)).json.webhooks, []);
  assert.equal((await srv.api(`${PROJECT}/rules`)).json.rules.length, 1);
  assert.equal((await srv.api(`${PROJECT}/rules/${rule.json.id}`, { method: 'DELETE' })).status, 200);
  noErrors(page, ANSWERS_4XX);
  await page.close();
});

test('my webhooks on /settings: add with chosen events, a refused URL, delete', async () => {
  const page = await newPage(await browser(), srv);
  const answers = recordAnswers(page);
  await open(page, srv.url, '/settings');
  await page.waitForSelector('#my-webhooks .add-webhook');
  await page.waitForFunction(() => /No webhooks\./.test(document.querySelector('#my-webhooks').textContent));
  await page.fill('#my-webhooks .webhook-url', `http://user:pw@example.org/${SECRET}`);
  await page.click('#my-webhooks .add-webhook button[type=submit]');
  await page.waitForSelector('#my-webhooks-msg.error');
  assert.equal(await page.textContent('#my-webhooks-msg'), 'url must not contain credentials (400)');
  for (const ev of ['finished', 'crashed', 'alert', 'rule']) await page.uncheck(`#my-webhooks input[name=event][value=${ev}]`);
  await page.fill('#my-webhooks .webhook-url', hookUrl);
  await page.click('#my-webhooks .add-webhook button[type=submit]');
  await page.waitForSelector('#my-webhooks-table tbody tr');
  await assertNotInPage(page);
  assert.equal(await page.$$eval('#my-webhooks-table tbody td', (c) => c[1].textContent), 'failed');
  const mine = (await srv.api('/user/webhooks')).json.webhooks;
  assert.equal(mine.length, 1);
  assert.deepEqual([mine[0].scope, mine[0].events], ['user', ['failed']]);
  await page.click('#my-webhooks-table .delete-webhook');
  await page.waitForFunction(() => /No webhooks\./.test(document.querySelector('#my-webhooks').textContent));
  assert.deepEqual((await srv.api('/user/webhooks')).json.webhooks, []);
  await assertNoSecret(page, answers);
  noErrors(page, ANSWERS_4XX);
  await page.close();
});
