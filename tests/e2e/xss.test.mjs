// Script payloads in every field a producer, a proposer or the configuration
// can set render as text on every page, signed in and signed out, also after
// live updates arrive: none runs, no dialog opens, no element they describe
// appears, and the payload reads back as the words it is where the page
// shows that field. Pages carry a Content-Security-Policy without inline
// script. Runs Chromium against the real binary.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startPortal, startWorker, request, sanitizerReport, binPath, tempDir, freshDb, signedInPage, launchBrowser, createToken, dbSql, waitUntil } from '../lib/portal.mjs';

const P = {
  script: '<script>window.__pwned=1</script>',
  img: '"><img src=x onerror="window.__pwned=1">',
  js: 'javascript:window.__pwned=1',
  svg: '</title><svg onload=window.__pwned=1>',
  tpl: "{{constructor.constructor('window.__pwned=1')()}}",
  alert: "'><svg/onload=alert(1)>",
};
// A public URL may hold quotes and angle brackets in its path.
const URL_PAYLOAD = "http://localhost:9/x'\"><svg/onload=window.__pwned=1>";
const q = JSON.stringify; // a JSON string is a YAML double-quoted scalar

const CONFIG = `
components:
  - name: xss-app
    title: ${q(P.script)}
    role: ${q(P.img)}
    ownership: endpoint
    public_url: ${q(URL_PAYLOAD)}
    internal_url: http://127.0.0.1:9
    health: {path: /, expect_status: 200, interval_ms: 500, timeout_ms: 200, slow_ms: 100}
    launch:
      opens: ${q(P.js)}
      sign_in: ${q(P.svg)}
      needs: ${q(P.tpl)}
      on_failure: ${q(P.alert)}
projects:
  - name: atlas
    title: ${q(P.svg)}
    summary: ${q(P.script)}
    components: [xss-app]
proposals:
  - name: xss-kind
    title: ${q(P.img)}
    summary: ${q(P.svg)}
    propose: operator
    approve: operator
    self_approval: true
    fields:
      - {name: note, type: string, max_len: 200, label: ${q(P.tpl)}, help: ${q(P.js)}}
      - {name: choice, type: enum, values: [${q(P.alert)}, plain]}
    execute:
      executor: exec
      argv: ["/bin/echo", "{note}"]
`;

let portal, worker, browser, token;
const ids = {};

async function postEvents(events) {
  const r = await request(`${portal.url}/api/v1/events`, {
    method: 'POST', auth: false, body: JSON.stringify(events),
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
  });
  return r;
}

function events(tag) {
  const s = (n) => `s-xss-${tag}-${n}`;
  return [
    { id: `${tag}-1`, type: 'session.started', project: 'atlas', session: s(1), source: P.script,
      data: { harness: P.img, inputs: { prompt: P.svg }, launch: { how: P.tpl } } },
    { id: `${tag}-2`, type: 'session.tool', project: 'atlas', session: s(1), data: { tool: P.js, family: P.alert } },
    { id: `${tag}-3`, type: 'session.started', project: 'atlas', session: s(2), source: P.img },
    { id: `${tag}-4`, type: 'session.blocked', project: 'atlas', session: s(2), data: { reason: P.svg, class: 'auth' } },
    { id: `${tag}-5`, type: 'session.resumed', project: 'atlas', session: s(3), data: { from_session: P.script } },
    { id: `${tag}-6`, type: 'ouroboros.cycle.failed', project: 'atlas', data: { cycle: 1, reason: P.tpl } },
    { id: `${tag}-8`, type: 'custom.note', project: 'atlas', session: s(1), source: P.alert, data: { text: P.js } },
  ];
}

async function decide(id, action, reason) {
  const r = await request(`${portal.url}/api/v1/proposals/${id}/${action}`, {
    method: 'POST', body: JSON.stringify(reason === undefined ? {} : { reason }), headers: { 'Content-Type': 'application/json' },
  });
  assert.ok(r.status < 300, `${action}: ${r.text}`);
}

async function propose(note, choice, key) {
  const r = await request(`${portal.url}/api/v1/proposals`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
    body: JSON.stringify({ kind: 'xss-kind', project: 'atlas', input: { note, choice } }),
  });
  assert.equal(r.status, 202, r.text);
  return r.json.proposal.id;
}

before(async () => {
  const dir = tempDir();
  const db = freshDb(dir);
  execFileSync(binPath(), ['migrate', '--db', db], { env: { PATH: process.env.PATH } });
  token = createToken(db, 'producer');
  portal = await startPortal({ dir, db, config: CONFIG, args: ['--ready-interval-ms', '200'] });
  // A health detail is Portal's own word (a producer may not write
  // health.changed), so the hostile one goes into the log behind Portal's
  // back, as only a compromised prober could write it: after the prober's
  // first report, which it does not repeat while the state stays down.
  const health = async () => (await request(`${portal.url}/api/v1/projection`)).json.health?.find((c) => c.name === 'xss-app');
  await waitUntil('the first probe of xss-app', 10000, async () => (await health())?.state === 'down');
  const detail = JSON.stringify({ component: 'xss-app', state: 'down', detail: P.img }).replaceAll("'", "''");
  dbSql(db, `INSERT INTO portal_live_events (id, ts, source, type, project, session, data, received_at) VALUES ('probe-xss-app-forged', ${Date.now()}, 'prober', 'health.changed', 'atlas', NULL, '${detail}', ${Date.now()})`);
  await waitUntil('the hostile health detail', 10000, async () => (await health())?.detail === P.img);
  worker = await startWorker(portal);
  browser = await launchBrowser();

  const r = await postEvents(events('a'));
  assert.ok(r.status < 300, r.text);
  ids.rejected = await propose(P.script, P.alert, 'xss-1');
  await decide(ids.rejected, 'reject', P.img);
  ids.cancelled = await propose(P.svg, 'plain', 'xss-2');
  await decide(ids.cancelled, 'cancel', P.tpl);
  ids.executed = await propose(P.js, 'plain', 'xss-3');
  await decide(ids.executed, 'approve');
  const deadline = Date.now() + 30000;
  for (;;) {
    const p = await request(`${portal.url}/api/v1/proposals/${ids.executed}`);
    if (['executed', 'proving', 'proven', 'failed'].includes(p.json.proposal?.state ?? p.json.state)) break;
    assert.ok(Date.now() < deadline, `the approved proposal did not run: ${p.text.slice(0, 300)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
});
after(async () => {
  await browser?.close();
  const w = await worker?.stop();
  assert.equal(w?.code, 0);
  const { code } = await portal.stop();
  assert.equal(code, 0);
  assert.equal(sanitizerReport(portal), '');
});

// Opens path in a fresh page and watches it: dialogs, page errors, console
// errors (a blocked inline script is one), and elements a payload describes.
async function visit(path, { signedIn = true, settle } = {}) {
  const page = signedIn ? await signedInPage(browser, portal) : await (await browser.newContext()).newPage();
  const problems = [];
  page.on('dialog', (d) => { problems.push(`dialog: ${d.message()}`); d.dismiss().catch(() => {}); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  const res = await page.goto(`${portal.url}${path}`, { waitUntil: 'load' });
  if (settle) await settle(page);
  const text = await page.locator('body').innerText();
  const state = await page.evaluate(() => ({
    pwned: window.__pwned,
    injected: document.querySelectorAll('img[src="x"], svg[onload], [onerror], [onload], script:not([src])').length,
    jsLinks: [...document.querySelectorAll('a[href], form[action]')]
      .map((e) => e.getAttribute('href') ?? e.getAttribute('action')).filter((h) => /^\s*javascript:/i.test(h)),
  }));
  return { page, res, problems, text, state };
}

function assertInert(v, what) {
  assert.equal(v.state.pwned, undefined, `${what}: a payload ran`);
  assert.equal(v.state.injected, 0, `${what}: a payload became an element`);
  assert.deepEqual(v.state.jsLinks, [], `${what}: a javascript: link`);
  // Favicon misses and failed fetches are not this test's business.
  assert.deepEqual(v.problems.filter((p) => !/Failed to load resource/.test(p)), [], what);
}

function assertCsp(res, what) {
  const csp = res.headers()['content-security-policy'] ?? '';
  assert.match(csp, /script-src 'self'/, `${what}: CSP script-src`);
  assert.match(csp, /object-src 'none'/, `${what}: CSP object-src`);
  assert.match(csp, /base-uri 'none'/, `${what}: CSP base-uri`);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, `${what}: CSP allows no inline script`);
}

function assertShows(v, payloads, what) {
  for (const p of payloads) assert.ok(v.text.includes(p), `${what}: shows ${JSON.stringify(p)} as text`);
}

test('payloads a producer or a person cannot store are refused, not stored', async () => {
  for (const [field, value] of [['type', P.script], ['project', P.img], ['session', P.svg], ['id', P.js]]) {
    const ev = { id: `bad-${field}`, type: 'session.started', project: 'atlas', session: 's-bad', [field]: value };
    const r = await postEvents(ev);
    assert.equal(r.status, 400, `${field}: ${r.text}`);
    assert.equal(r.json.error.field, field);
  }
  const user = spawnSync(binPath(), ['user', 'add', '--name', P.script, '--role', 'viewer', '--password-stdin', '--db', portal.db],
    { input: 'a-long-enough-password\n', encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.notEqual(user.status, 0, 'an account name is never markup');
  const bad = path.join(tempDir(), 'portal.yaml');
  fs.writeFileSync(bad, CONFIG.replace(q(URL_PAYLOAD), q(P.js)));
  const check = spawnSync(binPath(), ['check', '--config', bad], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.notEqual(check.status, 0, 'a javascript: public URL is refused');
  assert.match(check.stderr, /public_url/);
});

// [path, payloads the page shows as text, what to wait for] for an admin.
const signedInPages = () => [
  ['/', [P.svg]],
  ['/operator', [P.svg, P.tpl, P.alert], (p) => p.locator('#freshness[data-freshness="live"]').waitFor({ timeout: 10000 })],
  ['/substrate', [P.script, P.img]],
  ['/launch/xss-app', [P.script, P.js, P.svg, P.tpl, P.alert]],
  ['/projects/atlas', [P.script, P.img, P.svg]],
  ['/sessions/s-xss-a-1', [P.alert]],
  ['/sessions/s-xss-a-2', [P.svg]],
  ['/sessions/s-xss-a-3', [P.script]],
  ['/proposals', [P.img, P.svg]],
  ['/proposals/new?kind=xss-kind', [P.img, P.svg, P.tpl, P.js, P.alert]],
  [`/proposals/${ids.rejected}`, [P.script, P.img, P.alert]],
  [`/proposals/${ids.cancelled}`, [P.img, P.svg, P.tpl]],
  [`/proposals/${ids.executed}`, [P.img, P.js]],
  ['/proof', []],
  ['/admin/users', []],
  ['/debug/history', []],
  ['/welcome', [P.svg]],
  [`/proposals?state=${encodeURIComponent(P.script)}&kind=${encodeURIComponent(P.img)}`, []],
  [`/no/such/${encodeURIComponent(P.svg)}`, []],
  [`/launch/${encodeURIComponent(P.img)}`, []],
];

test('every page signed in as admin renders every payload as text', async () => {
  for (const [path, shows, settle] of signedInPages()) {
    const v = await visit(path, { settle });
    assert.ok(v.res.status() < 500, `${path}: ${v.res.status()}`);
    assertCsp(v.res, path);
    assertInert(v, path);
    assertShows(v, shows, path);
    await v.page.context().close();
  }
});

test('every page signed out renders every payload as text', async () => {
  const pages = [
    ['/', [P.svg]], ['/welcome', [P.svg]], ['/login', []],
    [`/login?next=${encodeURIComponent(`/${P.img}`)}`, []],
    [`/login?next=${encodeURIComponent(P.js)}`, []],
    [`/operator?x=${encodeURIComponent(P.script)}`, []],
    [`/no/such/${encodeURIComponent(P.script)}`, []],
  ];
  for (const [path, shows] of pages) {
    const v = await visit(path, { signedIn: false });
    assert.ok(v.res.status() < 500, `${path}: ${v.res.status()}`);
    assertCsp(v.res, path);
    assertInert(v, path);
    assertShows(v, shows, path);
    // The sign-in form keeps `next` only as a value, never as a way off the site.
    const next = v.page.locator('input[name="next"]');
    if (await next.count()) assert.doesNotMatch(await next.getAttribute('value'), /^\s*javascript:/i, path);
    await v.page.context().close();
  }
});

test('payloads arriving live on open pages stay text', async () => {
  const open = [];
  for (const path of ['/operator', '/projects/atlas', '/', '/proposals', '/substrate']) {
    open.push(await visit(path, {
      settle: path === '/operator' ? (p) => p.locator('#freshness[data-freshness="live"]').waitFor({ timeout: 10000 }) : undefined,
    }));
  }
  const before = await open[0].page.locator('#sessions').getAttribute('data-version');
  const r = await postEvents(events('live'));
  assert.ok(r.status < 300, r.text);
  // The operator view has taken the new snapshot in.
  await open[0].page.waitForFunction((v) => document.querySelector('#sessions')?.getAttribute('data-version') !== v, before, { timeout: 10000 });
  await open[0].page.getByText('s-xss-live-1').first().waitFor({ timeout: 10000 });
  const text = await open[0].page.locator('body').innerText();
  assert.ok(text.includes(P.alert), 'the live tool family shows as text');
  assert.ok(text.includes(P.svg), 'the live blocked reason shows as text');
  for (const v of open) {
    const state = await v.page.evaluate(() => ({
      pwned: window.__pwned,
      injected: document.querySelectorAll('img[src="x"], svg[onload], [onerror], [onload], script:not([src])').length,
    }));
    assert.equal(state.pwned, undefined, v.page.url());
    assert.equal(state.injected, 0, v.page.url());
    assert.deepEqual(v.problems.filter((p) => !/Failed to load resource/.test(p)), [], v.page.url());
    await v.page.context().close();
  }
});
