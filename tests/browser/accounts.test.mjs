// accounts.test.mjs — sign-in, sign-out, settings, visibility and reports in a
// real browser against a real server. Run by ctest (test_browser_accounts).
//
// Each test opens its own browser profile (launch), so cookies of one test
// never sign in another; every page gets its credentials from lib.mjs's
// authenticate() through newPage().
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, newPage, open, shot, noErrors, noXss } from './lib.mjs';

let srv, runs;
const contexts = [];

async function browser() {
  const ctx = await launch(srv.root);
  contexts.push(ctx);
  return ctx;
}

before(async () => {
  srv = await startServer();
  assert.equal((await srv.api('/projects/team/open', { method: 'PUT', body: { visibility: 'public' } })).status, 200);
  assert.equal((await srv.api('/projects/team/secret', { method: 'PUT', body: { visibility: 'private' } })).status, 200);
  runs = srv.fill('demo', 'open', '4', '60');
  srv.fill('demo', 'secret', '2', '20');
});

after(async () => {
  for (const c of contexts) await c.close();
  if (srv) await srv.stop();
});

test('login page: a wrong password is refused, then sign in and out', async () => {
  const ctx = await browser();
  const page = await newPage(ctx);
  await open(page, srv.url, '/login?next=/team/secret');
  await page.fill('#login-name', 'admin');
  await page.fill('#login-password', 'not the password');
  await page.click('#login-submit');
  await page.waitForSelector('#login-msg.error');
  assert.match(await page.textContent('#login-msg'), /Wrong name or password/);
  await page.fill('#login-password', srv.password);
  await page.click('#login-submit');
  await page.waitForSelector('#runs tbody tr');
  assert.equal(new URL(page.url()).pathname, '/team/secret');
  assert.equal(await page.textContent('#settings-link'), 'admin');
  // The session cookie is HttpOnly: page scripts cannot read it.
  assert.equal(await page.evaluate(() => document.cookie.includes('wb_session')), false);
  const cookies = await ctx.cookies(srv.url);
  const c = cookies.find((x) => x.name === 'wb_session');
  assert.ok(c && c.httpOnly && c.sameSite === 'Strict');
  // Sign out: the private project is gone, the header offers sign-in.
  await page.click('#logout');
  await page.waitForSelector('#login-link');
  await open(page, srv.url, '/team/secret');
  await page.waitForSelector('.error-box');
  assert.match(await page.textContent('.error-box'), /sign in/);
  assert.equal((await ctx.cookies(srv.url)).filter((x) => x.name === 'wb_session' && x.value).length, 0);
  noErrors(page);
  await page.close();
});

test('a public project is readable signed out; a private one is not', async () => {
  const ctx = await browser();
  const page = await newPage(ctx);
  await open(page, srv.url, '/');
  await page.waitForSelector('#projects');
  const list = await page.textContent('#projects');
  assert.match(list, /team\/open/);
  assert.doesNotMatch(list, /team\/secret/);
  await open(page, srv.url, '/team/open');
  await page.waitForSelector('#runs tbody tr');
  assert.equal(await page.$$eval('#runs tbody tr', (rs) => rs.length), runs.length);
  await open(page, srv.url, `/team/open/runs/${runs[0].id}`);
  await page.waitForSelector('.chart[data-state=ready]');
  await noXss(page);
  await open(page, srv.url, '/team/secret');
  await page.waitForSelector('.error-box');
  assert.equal(await page.$('#runs tbody tr'), null);
  assert.match(await page.textContent('.error-box'), /sign in/);
  noErrors(page);
  await page.close();
});

test('settings: API key shown once and revoked, a team, a user and the setup link', async () => {
  const ctx = await browser();
  const page = await newPage(ctx, srv);
  await open(page, srv.url, '/settings');
  await page.waitForSelector('#keys-table');
  await page.fill('#key-name', 'laptop');
  await page.click('#key-create');
  await page.waitForSelector('#new-key-value');
  const key = await page.inputValue('#new-key-value');
  assert.match(key, /^wb_[A-Za-z0-9]{40}$/);
  const me = await fetch(`${srv.url}/api/v1/auth/session`, { headers: { Authorization: `Bearer ${key}` } });
  assert.equal((await me.json()).user.name, 'admin');
  await page.waitForFunction(() => [...document.querySelectorAll('#keys-table td')].some((td) => td.textContent === 'laptop'));
  assert.ok(!(await page.textContent('#keys-table')).includes(key), 'the key is listed by prefix only');
  // Revoke it (a CSRF-protected request made with the cookie).
  await page.locator('#keys-table tr', { hasText: 'laptop' }).locator('button.revoke').click();
  await page.waitForFunction(() => [...document.querySelectorAll('#keys-table tr')].some((tr) => tr.textContent.includes('laptop') && tr.textContent.includes('revoked')));
  assert.equal((await fetch(`${srv.url}/api/v1/auth/session`, { headers: { Authorization: `Bearer ${key}` } })).status, 401);
  // A team, and a new user with a one-time setup link.
  await page.fill('#team-name', 'vision');
  await page.click('#team-create');
  await page.waitForSelector('#teams-table a[href="/settings?team=vision"]');
  await page.fill('#user-name', 'carol');
  await page.click('#user-create');
  await page.waitForSelector('#setup-link-value');
  const link = await page.inputValue('#setup-link-value');
  assert.ok(link.startsWith(`${srv.url}/setup?token=`));
  // Carol, in her own browser, sets her password through the link and is signed in.
  const ctx2 = await browser();
  const carol = await newPage(ctx2);
  await carol.goto(link);
  await carol.waitForSelector('#setup-password');
  // A dictionary word is refused, and the page says why; the link still works.
  await carol.fill('#setup-password', 'password');
  await carol.fill('#setup-password2', 'password');
  await carol.click('#setup-submit');
  await carol.waitForFunction(() => document.querySelector('#setup-msg.error')?.textContent.includes('dictionary'));
  await carol.fill('#setup-password', 'mango ladder seventy');
  await carol.fill('#setup-password2', 'mango ladder seventy');
  await carol.click('#setup-submit');
  await carol.waitForSelector('#keys-table');
  assert.equal(await carol.textContent('#settings-link'), 'carol');
  assert.equal(await carol.$('#users'), null, 'only server admins see the users card');
  // Carol is not a member of team/secret: it does not exist for her.
  await open(carol, srv.url, '/team/secret');
  await carol.waitForSelector('.error-box');
  assert.match(await carol.textContent('.error-box'), /not visible/);
  // The admin adds her to the team page's members.
  await open(page, srv.url, '/settings?team=vision');
  await page.waitForSelector('#team-members-table');
  await page.fill('#team-members .member-name', 'carol');
  await page.click('#team-members .add-member button[type=submit]');
  await page.waitForSelector('#team-members-table tr[data-user=carol]');
  // Offboarding: the admin deactivates carol on /settings; her open session ends at once.
  await open(page, srv.url, '/settings');
  await page.waitForSelector('#users-table tr[data-user=carol] button.user-active');
  assert.equal(await page.$('#users-table tr[data-user=admin] button.user-active'), null, 'no button for oneself');
  await page.click('#users-table tr[data-user=carol] button.user-active');
  await page.waitForFunction(() => document.querySelector('#users-table tr[data-user=carol]')?.textContent.includes('deactivated'));
  const who = await carol.evaluate(async () => (await (await fetch('/api/v1/auth/session')).json()).user);
  assert.equal(who, null, 'a deactivated user is signed out everywhere');
  await page.click('#users-table tr[data-user=carol] button.user-active');
  await page.waitForFunction(() => document.querySelector('#users-table tr[data-user=carol] button.user-active')?.textContent === 'Deactivate');
  noErrors(page);
  noErrors(carol, /status of 40[0134]/); // 400: the refused password
  await page.close();
  await carol.close();
});

test('project settings: visibility control and members', async () => {
  const ctx = await browser();
  const page = await newPage(ctx, srv);
  await open(page, srv.url, '/team/secret/settings');
  await page.waitForSelector('#visibility');
  assert.equal(await page.inputValue('#visibility'), 'private');
  const anon = await newPage(await browser());
  await open(anon, srv.url, '/team/secret');
  await anon.waitForSelector('.error-box');
  await page.selectOption('#visibility', 'public');
  await page.waitForFunction(() => /Public/.test(document.querySelector('#visibility-msg').textContent));
  await open(anon, srv.url, '/team/secret');
  await anon.waitForSelector('#runs tbody tr');
  await page.selectOption('#visibility', 'private');
  await page.waitForFunction(() => /Private/.test(document.querySelector('#visibility-msg').textContent));
  await open(anon, srv.url, '/team/secret');
  await anon.waitForSelector('.error-box');
  // A member with a role.
  await page.waitForSelector('#project-members-table');
  await page.fill('#project-members .member-name', 'carol');
  await page.click('#project-members .add-member button[type=submit]');
  await page.waitForSelector('#project-members-table tr[data-user=carol]');
  const m = (await srv.api('/projects/team/secret/members')).json.members;
  assert.deepEqual(m, [{ user: 'carol', role: 'viewer' }]);
  noErrors(page);
  noErrors(anon);
  await page.close();
  await anon.close();
});

const XSS_TEXT = [
  '# Sweep results <script>window.__xss=1</script>',
  '',
  'Raw <img src=x onerror="window.__xss=1"> and a [link](javascript:window.__xss=1) and <a href="javascript:window.__xss=1">x</a>.',
  '',
  '<iframe src="javascript:window.__xss=1"></iframe>',
  '',
  '**Loss** fell by half.',
  '',
].join('\n');

test('reports: write with live panels, history of every version, no XSS from text or run names', async () => {
  const ctx = await browser();
  const page = await newPage(ctx, srv);
  await open(page, srv.url, '/team/open/reports');
  await page.fill('#new-report-title', 'Sweep');
  await page.click('#new-report button[type=submit]');
  await page.waitForSelector('#report-text');
  const xssRun = runs[runs.length - 1].id;
  const body = `${XSS_TEXT}\n\`\`\`wb\nchart: loss, acc\nruns: ${runs[0].id}, ${xssRun}\n\`\`\`\n\n\`\`\`wb\nchart: val/loss\nfilter: config.lr>0.015\nlimit: 5\n\`\`\`\n\n\`\`\`wb\ntable\nfilter: state=finished\ncolumns: config.lr, summary.loss\n\`\`\`\n\n\`\`\`wb\ncompare: ${runs[0].id}, ${xssRun}\n\`\`\`\n`;
  await page.fill('#report-text', body);
  await page.click('#report-preview-btn');
  await page.waitForSelector('#report-preview .wb-panel[data-type=chart][data-state=ready]');
  await noXss(page);
  await page.click('#report-save');
  await page.waitForSelector('#report-title');
  await page.waitForSelector('.wb-panel[data-type=chart][data-state=ready]');
  await page.waitForSelector('.wb-panel[data-type=table][data-state=ready]');
  await page.waitForSelector('.wb-panel[data-type=compare][data-state=ready]');
  const url = new URL(page.url());
  assert.match(url.pathname, /^\/team\/open\/reports\/\d+$/);
  // Charts drawn from live data: two metrics, one line per run; then a chart of the runs a filter selects
  // (lr = 0.01, 0.02, 0.03, 0.04: three have lr > 0.015).
  await page.waitForFunction(() => document.querySelectorAll('.wb-panel[data-type=chart][data-state=ready]').length === 2);
  assert.equal(await page.$$eval('.wb-panel[data-type=chart] .chart[data-state=ready]', (cs) => cs.length), 3);
  const lines = await page.$$eval('.wb-panel[data-type=chart] .chart', (cs) => cs.map((c) => c.querySelectorAll('.u-legend tr.u-series').length - 1));
  assert.deepEqual(lines, [2, 2, 3]);
  assert.equal(await page.$$eval('.wb-panel[data-type=table] tbody tr', (rs) => rs.length), runs.length - 1); // one failed
  assert.match(await page.textContent('.wb-panel[data-type=compare]'), /config\.lr/);
  // The XSS run's name is shown as text, the text's markup is inert.
  assert.match(await page.textContent('.wb-panel[data-type=compare] thead'), /<script>window.__xss=1<\/script>/);
  assert.match(await page.textContent('#report-body'), /<script>window.__xss=1<\/script>/);
  assert.equal(await page.$$eval('#report-body iframe', (x) => x.length), 0);
  assert.equal(await page.$$eval('#report-body strong', (x) => x.length), 1);
  await noXss(page);
  await shot(page, 'report');
  // Edit again: version 3; the history shows every version with who and when; v2 stays readable.
  await page.click('#report-edit');
  await page.waitForSelector('#report-text');
  await page.fill('#report-title', 'Sweep (final)');
  await page.fill('#report-text', '# Final\n\nAll done.');
  await page.click('#report-save');
  await page.waitForFunction(() => document.querySelector('#report-title') && document.querySelector('#report-title').textContent === 'Sweep (final)');
  await open(page, srv.url, `${url.pathname}?history=1`);
  await page.waitForSelector('#report-history');
  const hist = await page.textContent('#report-history');
  // v1 is the stub "New report" made, v2 the panels, v3 the final text.
  assert.equal(await page.$$eval('#report-history tbody tr', (rs) => rs.length), 3);
  assert.match(hist, /v3.*v2.*v1/s);
  assert.match(hist, /admin/);
  await open(page, srv.url, `${url.pathname}?v=2`);
  await page.waitForSelector('#report-old');
  await page.waitForSelector('.wb-panel[data-type=chart][data-state=ready]');
  await noXss(page);
  // Signed out, the public project's report is readable, not editable.
  const anon = await newPage(await browser());
  await open(anon, srv.url, url.pathname);
  await anon.waitForSelector('#report-title');
  assert.equal(await anon.textContent('#report-title'), 'Sweep (final)');
  assert.equal(await anon.$('#report-edit'), null);
  noErrors(page);
  noErrors(anon);
  await page.close();
  await anon.close();
});
