// Sign-in over HTTP: the continuation, cookies, rotation, CSRF, throttling,
// roles, sign-out everywhere, bearer reads, trusted proxies, and the one
// recovery model's classes with their statuses and body shape.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  startPortal, request, login, addUser, setCookies, binPath, sanitizerReport, TEST_ADMIN, TEST_PASSWORD,
  onPg, dbSql, ruinDb, slow,
} from '../lib/portal.mjs';

let portal;
const PW = 'a-long-enough-password';

before(async () => {
  portal = await startPortal({ args: ['--ready-interval-ms', '200'] });
  addUser(portal.db, 'vic', 'viewer', PW);
  addUser(portal.db, 'olga', 'operator', PW);
});
after(async () => {
  const { code } = await portal.stop();
  assert.equal(code, 0);
  assert.equal(sanitizerReport(portal), '');
});

const anon = { auth: false, headers: { Accept: 'text/html' } };
const as = (s, extra = {}) => ({ headers: { Cookie: s.cookie, Accept: 'text/html', ...extra } });

function assertError(r, status, cls, code) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers['content-type'], /^application\/json/);
  const e = r.json.error;
  for (const k of ['code', 'message', 'field', 'request_id', 'class', 'next']) assert.ok(k in e, `error.${k}`);
  assert.equal(e.class, cls);
  if (code) assert.equal(e.code, code);
  assert.equal(e.request_id, r.headers['x-request-id']);
  assert.ok(Array.isArray(e.next) && e.next.length > 0, 'a next action');
  for (const n of e.next) assert.match(n.href, /^\/(?!\/)/, 'next actions are same-origin');
}

test('a signed-out page request goes to sign-in with the way back; the API answers 401 auth', async () => {
  const r = await request(`${portal.url}/operator?session=s-1&view=minimap`, anon);
  assert.equal(r.status, 303);
  assert.equal(r.headers.location, '/login?next=%2Foperator%3Fsession%3Ds-1%26view%3Dminimap');
  const form = await request(`${portal.url}${r.headers.location}`, anon);
  assert.equal(form.status, 200);
  assert.match(form.text, /<input type="hidden" name="next" value="\/operator\?session=s-1&amp;view=minimap">/);
  assert.doesNotMatch(form.text, /data-recovery-class|error|fail/i, 'an auth block reads as sign-in, not as an error');

  const api = await request(`${portal.url}/api/v1/projection`, { auth: false });
  assertError(api, 401, 'auth', 'unauthenticated');
  assert.match(api.headers['www-authenticate'], /^Bearer /);
  assert.equal(api.json.error.next[0].href, '/login');
});

test('signing in lands exactly on next, with a HttpOnly SameSite=Lax cookie', async () => {
  const s = await login(portal.url, 'vic', PW, '/operator?session=s-1');
  assert.equal(s.location, '/operator?session=s-1');
  const form = await fetch(`${portal.url}/login`);
  const pre = setCookies(form).portal_pre;
  const html = await form.text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)[1];
  const res = await fetch(`${portal.url}/login`, {
    method: 'POST', redirect: 'manual',
    headers: { Cookie: `portal_pre=${pre}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf, next: '/substrate', user: 'vic', password: PW }),
  });
  assert.equal(res.status, 303);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('portal_login='));
  assert.match(cookie, /; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
  assert.doesNotMatch(cookie, /Secure/, 'plain http from a client that is not a trusted proxy');
  assert.match(cookie, /^portal_login=[A-Za-z0-9_-]{43};/, '256 random bits');
  const page = await request(`${portal.url}/operator`, as(s));
  assert.equal(page.status, 200);
  assert.match(page.text, /data-user data-role="viewer">vic · viewer/);
});

test('the sign-in id rotates: signing in again ends the login it came with', async () => {
  const first = await login(portal.url, 'vic', PW);
  const form = await fetch(`${portal.url}/login`, { headers: { Cookie: first.cookie } });
  const html = await form.text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)[1];
  assert.equal(csrf, first.csrf, 'signed in, the form carries the login\'s own token');
  const res = await fetch(`${portal.url}/login`, {
    method: 'POST', redirect: 'manual',
    headers: { Cookie: first.cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf, next: '/', user: 'vic', password: PW }),
  });
  assert.equal(res.status, 303);
  const second = `portal_login=${setCookies(res).portal_login}`;
  assert.notEqual(second, first.cookie);
  assert.equal((await request(`${portal.url}/operator`, as({ cookie: second }))).status, 200);
  assert.equal((await request(`${portal.url}/operator`, as(first))).status, 303, 'the old id is dead');
});

test('a state-changing request with a sign-in and no CSRF token is refused 403 and changes nothing', async () => {
  const s = await login(portal.url, 'vic', PW);
  const missing = await request(`${portal.url}/logout`, { method: 'POST', headers: { Cookie: s.cookie, Accept: 'application/json', 'X-CSRF-Token': '' } });
  assertError(missing, 403, 'auth', 'csrf');
  assert.equal(missing.json.error.field, 'csrf');
  const form = await request(`${portal.url}/logout`, {
    method: 'POST', headers: { Cookie: s.cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'csrf=not-the-token',
  });
  assert.equal(form.status, 403);
  assert.match(form.text, /data-recovery-class="auth"/);
  assert.equal((await request(`${portal.url}/operator`, as(s))).status, 200, 'still signed in');
  const ok = await request(`${portal.url}/logout`, {
    method: 'POST', headers: { Cookie: s.cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `csrf=${encodeURIComponent(s.csrf)}`,
  });
  assert.equal(ok.status, 303);
  assert.equal(ok.headers.location, '/login?signed_out=1');
  assert.equal((await request(`${portal.url}/operator`, as(s))).status, 303, 'signed out');
});

test('sign out everywhere ends every login of the account, not others', async () => {
  const a = await login(portal.url, 'olga', PW);
  const b = await login(portal.url, 'olga', PW);
  const v = await login(portal.url, 'vic', PW);
  const r = await request(`${portal.url}/logout`, {
    method: 'POST', headers: { Cookie: a.cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `csrf=${encodeURIComponent(a.csrf)}&scope=everywhere`,
  });
  assert.equal(r.status, 303);
  assert.equal((await request(`${portal.url}/operator`, as(b))).status, 303);
  assert.equal((await request(`${portal.url}/operator`, as(v))).status, 200);
});

test('a wrong password keeps the continuation; repeated failures are throttled with a growing wait', async () => {
  addUser(portal.db, 'tess', 'viewer', PW);
  const form = await fetch(`${portal.url}/login`);
  const pre = setCookies(form).portal_pre;
  const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())[1];
  const attempt = (password, next = '/sessions/s-atlas-01') => fetch(`${portal.url}/login`, {
    method: 'POST', redirect: 'manual',
    headers: { Cookie: `portal_pre=${pre}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf, next, user: 'tess', password }),
  });
  const wrong = await attempt('not-her-password');
  const html = await wrong.text();
  assert.equal(wrong.status, 401);
  assert.match(html, /name="next" value="\/sessions\/s-atlas-01"/);
  assert.match(html, /The account name or password is wrong/);
  assert.match(html, /name="user"[^>]*value="tess"/);
  assert.ok(!setCookies(wrong).portal_login);
  for (let i = 0; i < 3; i++) await (await attempt('still-wrong-1')).text();
  const held = await attempt(PW);
  const heldHtml = await held.text();
  assert.equal(held.status, 429, 'even the right password waits its turn');
  assert.ok(Number(held.headers.get('retry-after')) >= 1);
  assert.match(heldHtml, /Too many failed attempts/);
  assert.match(heldHtml, /name="next" value="\/sessions\/s-atlas-01"/);
  await new Promise((r) => setTimeout(r, 1100));
  const ok = await attempt(PW);
  assert.equal(ok.status, 303, 'after the wait the right password works');
  assert.equal(ok.headers.get('location'), '/sessions/s-atlas-01');
});

test('an unknown account and a disabled one read the same as a wrong password', async () => {
  addUser(portal.db, 'dan', 'viewer', PW);
  const s = await login(portal.url, 'dan', PW);
  execFileSync(binPath(), ['user', 'disable', '--name', 'dan', '--db', portal.db], { stdio: 'ignore' });
  await assert.rejects(login(portal.url, 'dan', PW), /401/);
  await assert.rejects(login(portal.url, 'nobody-here', PW), /401/);
  await portal.waitForLog((l) => l.msg === 'sign-in refused' && l.reason === 'unknown account');
  assert.ok(!portal.stderr().includes('nobody-here'), 'a name that is no account (maybe a password) is not logged');
  assert.ok(portal.logs.some((l) => l.msg === 'sign-in refused' && l.user === 'dan'), 'a real account is named');
  let st;
  const deadline = Date.now() + 5000 * slow;
  do {
    st = (await request(`${portal.url}/operator`, as(s))).status;
    if (st === 200) await new Promise((r) => setTimeout(r, 100));
  } while (st === 200 && Date.now() < deadline);
  assert.equal(st, 303, 'a disabled account\'s sign-in ends within a refresh');
});

test('roles: a viewer gets 403 "request access" naming the role; admins and operators get in', async () => {
  const v = await login(portal.url, 'vic', PW);
  const page = await request(`${portal.url}/admin/users`, as(v));
  assert.equal(page.status, 403);
  assert.match(page.text, /data-recovery-class="auth"/);
  assert.match(page.text, /Request access/);
  assert.match(page.text, /needs the admin role/);
  assert.doesNotMatch(page.text, /fail|error/i, 'access is not a failure');
  const api = await request(`${portal.url}/admin/users`, { headers: { Cookie: v.cookie, Accept: 'application/json' } });
  assertError(api, 403, 'auth', 'forbidden');
  assert.match(api.json.error.message, /admin role/);
  const debug = await request(`${portal.url}/debug/history`, as(v));
  assert.equal(debug.status, 403);
  assert.match(debug.text, /needs the operator role/);
  const o = await login(portal.url, 'olga', PW);
  assert.notEqual((await request(`${portal.url}/debug/history`, as(o))).status, 403);
  const admin = await request(`${portal.url}/admin/users`);
  assert.equal(admin.status, 200);
  assert.match(admin.text, /data-account="vic"/);
  assert.doesNotMatch(admin.text, /argon2|\$argon/, 'no password hash on the page');
});

test('bearer tokens with the read scope read the API; other scopes are refused', async () => {
  const run = (args) => execFileSync(binPath(), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const read = run(['token', 'create', '--name', 'reader', '--scope', 'read', '--db', portal.db]);
  const write = run(['token', 'create', '--name', 'writer', '--scope', 'events:write', '--db', portal.db]);
  await new Promise((r) => setTimeout(r, 500)); // one refresh of the token cache
  const ok = await request(`${portal.url}/api/v1/projection`, { auth: false, headers: { Authorization: `Bearer ${read}` } });
  assert.equal(ok.status, 200);
  const no = await request(`${portal.url}/api/v1/projection`, { auth: false, headers: { Authorization: `Bearer ${write}` } });
  assertError(no, 403, 'auth', 'forbidden');
});

test('next with off-site targets in any encoding lands on /', async () => {
  const targets = [
    '//evil.example/', '///evil.example', '/\\evil.example', '\\\\evil.example', 'https://evil.example/',
    'http:evil.example', 'javascript:alert(1)', 'data:text/html,hi', '/\t/evil.example', '\t//evil.example',
    '/\n/evil.example', ' //evil.example', '%2F%2Fevil.example', '/%2F%2Fevil.example'.replace('/%2F', '//'),
    '//evil.example@127.0.0.1', '\u2215\u2215evil.example', '/\uff0f/evil.example', 'evil.example',
  ];
  for (const next of targets) {
    const s = await login(portal.url, 'vic', PW, next);
    assert.equal(s.location, '/', JSON.stringify(next));
  }
  // once-encoded %2F%2F arrives decoded: the query parser hands us //evil
  const res = await request(`${portal.url}/login?next=%2F%2Fevil.example`, anon);
  assert.match(res.text, /name="next" value="\/"/);
  const dbl = await request(`${portal.url}/login?next=%252F%252Fevil.example`, anon);
  assert.match(dbl.text, /name="next" value="\/"/, 'a stray % that is not an escape is refused');
});

test('recovery classes: auth 401/403, contract 424, dependency 503, product 404 — status and body shape', async () => {
  assertError(await request(`${portal.url}/api/v1/projection`, { auth: false }), 401, 'auth');
  const v = await login(portal.url, 'vic', PW);
  assertError(await request(`${portal.url}/admin/users`, { headers: { Cookie: v.cookie, Accept: 'application/json' } }), 403, 'auth');
  assertError(await request(`${portal.url}/api/v1/nothing-here`), 404, 'product', 'not_found');
  const page404 = await request(`${portal.url}/no/such/page`, { headers: { Accept: 'text/html' } });
  assert.equal(page404.status, 404);
  assert.match(page404.text, /data-recovery-class="product"/);
});

test('contract 424 and dependency 503 downshift into recovery with their class', async () => {
  const p = await startPortal({
    args: ['--ready-interval-ms', '100'],
    config: `components:
  - name: headlamp
    title: Headlamp
    ownership: endpoint
    internal_url: http://127.0.0.1:9/
    health:
      path: /
`,
  });
  try {
    const launch = await request(`${p.url}/launch/headlamp`, { headers: { Accept: 'text/html' } });
    assert.equal(launch.status, 424);
    assert.match(launch.text, /data-recovery-class="contract"/);
    assert.match(launch.text, /public_url/);

    // The store goes bad: readiness says dependency, not failure.
    const restore = ruinDb(p.db);
    let r;
    const deadline = Date.now() + 5000 * slow;
    do {
      await new Promise((res) => setTimeout(res, 100));
      r = await request(`${p.url}/readyz`);
    } while (r.status === 200 && Date.now() < deadline);
    assertError(r, 503, 'dependency', 'unavailable');
    restore();
  } finally {
    await p.stop();
    assert.equal(sanitizerReport(p), '');
  }
});

test('sign-in while the store is locked by someone else is a dependency, and keeps the way back', async () => {
  const p = await startPortal({ args: ['--busy-timeout-ms', '200'] });
  // Another process holds the write lock (the sqlite3 shell, or psql, in a
  // transaction: on PostgreSQL it locks the accounts and their logins).
  const holder = onPg
    ? spawn('psql', ['-X', '-q', '-d', p.db], { stdio: ['pipe', 'ignore', 'ignore'] })
    : spawn('sqlite3', [p.db], { stdio: ['pipe', 'ignore', 'ignore'] });
  holder.stdin.write(onPg
    ? 'BEGIN;\nLOCK TABLE portal_users, portal_logins IN ACCESS EXCLUSIVE MODE;\n'
    : 'BEGIN EXCLUSIVE;\nINSERT INTO portal_instance VALUES (\'lock\', 0);\n');
  await new Promise((res) => setTimeout(res, 300));
  try {
    const form = await fetch(`${p.url}/login`);
    const pre = setCookies(form).portal_pre;
    const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())[1];
    const res = await fetch(`${p.url}/login`, {
      method: 'POST', redirect: 'manual',
      headers: { Cookie: `portal_pre=${pre}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, next: '/operator', user: TEST_ADMIN, password: TEST_PASSWORD }),
    });
    const html = await res.text();
    assert.equal(res.status, 503);
    assert.match(html, /data-recovery-class="dependency"/);
    assert.match(html, /Sign-in is unavailable/);
    assert.match(html, /href="\/login\?next=%2Foperator"/, 'the way back survives the outage');
    assert.doesNotMatch(html, /portal\.db|sqlite|SQLITE/i, 'nothing internal');
  } finally {
    holder.stdin.end('ROLLBACK;\n');
    await new Promise((res) => holder.on('exit', res));
    await p.stop();
    assert.equal(sanitizerReport(p), '');
  }
});

test('a trusted proxy may name the account and say https; anyone else may not', async () => {
  const p = await startPortal({
    args: ['--trusted-proxies', '127.0.0.1, ::1', '--identity-header', 'X-Forwarded-User', '--preview', 'false'],
  });
  try {
    const named = await request(`${p.url}/operator`, { auth: false, headers: { 'X-Forwarded-User': 'test-admin', Accept: 'text/html' } });
    assert.equal(named.status, 200);
    assert.match(named.text, /data-user data-role="admin">test-admin/);
    const unknown = await request(`${p.url}/operator`, { auth: false, headers: { 'X-Forwarded-User': 'mallory', Accept: 'text/html' } });
    assert.equal(unknown.status, 303, 'an account the proxy names must exist');
    // A write by a proxy-named person still needs its CSRF token.
    const post = await request(`${p.url}/logout`, { auth: false, method: 'POST', headers: { 'X-Forwarded-User': 'test-admin', Accept: 'application/json' } });
    assertError(post, 403, 'auth', 'csrf');
    // https at the proxy: the sign-in cookie is Secure.
    const form = await fetch(`${p.url}/login`, { headers: { 'X-Forwarded-Proto': 'https' } });
    const pre = setCookies(form).portal_pre;
    assert.match(form.headers.getSetCookie()[0], /; Secure$/);
    const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())[1];
    const res = await fetch(`${p.url}/login`, {
      method: 'POST', redirect: 'manual',
      headers: { Cookie: `portal_pre=${pre}`, 'Content-Type': 'application/x-www-form-urlencoded', 'X-Forwarded-Proto': 'https' },
      body: new URLSearchParams({ csrf, next: '/', user: TEST_ADMIN, password: TEST_PASSWORD }),
    });
    assert.equal(res.status, 303);
    assert.match(res.headers.getSetCookie().find((c) => c.startsWith('portal_login=')), /; Secure$/);
    // With the preview off, / signed out is the way in.
    const root = await request(`${p.url}/`, { auth: false });
    assert.equal(root.status, 303);
    assert.equal(root.headers.location, '/login?next=%2F');
  } finally {
    await p.stop();
  }
  // Without the proxy trusted, the same header is just a header.
  const q = await startPortal({ args: ['--trusted-proxies', '10.0.0.0/8', '--identity-header', 'X-Forwarded-User'] });
  try {
    const r = await request(`${q.url}/operator`, { auth: false, headers: { 'X-Forwarded-User': 'test-admin', 'X-Forwarded-Proto': 'https' } });
    assert.equal(r.status, 303);
    const form = await fetch(`${q.url}/login`, { headers: { 'X-Forwarded-Proto': 'https' } });
    assert.doesNotMatch(form.headers.getSetCookie()[0], /Secure/);
  } finally {
    await q.stop();
  }
});

test('a sign-in left idle expires: the next page keeps the way back, and the login is gone from the store', async () => {
  const p = await startPortal({ args: ['--session-idle-ms', '1000', '--ready-interval-ms', '100'] });
  try {
    const count = () => dbSql(p.db, 'SELECT count(*) FROM portal_logins');
    assert.equal(count(), '1');
    await new Promise((r) => setTimeout(r, 1300));
    const r = await request(`${p.url}/substrate?view=owned`, { headers: { Accept: 'text/html' } });
    assert.equal(r.status, 303);
    assert.equal(r.headers.location, '/login?next=%2Fsubstrate%3Fview%3Downed&expired=1');
    const api = await request(`${p.url}/api/v1/projection`);
    assertError(api, 401, 'auth', 'unauthenticated');
    let n;
    const deadline = Date.now() + 3000 * slow;
    do {
      n = count();
      if (n !== '0') await new Promise((res) => setTimeout(res, 100));
    } while (n !== '0' && Date.now() < deadline);
    assert.equal(n, '0', 'an expired login is ended in the store, not just forgotten');
  } finally {
    await p.stop();
    assert.equal(sanitizerReport(p), '');
  }
});
