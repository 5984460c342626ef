// Sign-in in a real browser: deep links survive sign-in, a wrong password
// and an expired sign-in; off-site `next` targets land on /; an auth block
// reads as sign-in; a viewer asking for an admin page is told to request
// access.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startPortal, addUser, sanitizerReport, binPath, tempDir, launchBrowser } from '../lib/portal.mjs';

const PW = 'browser-password-1234';
let portal, browser;

before(async () => {
  const dir = tempDir();
  const db = `${dir}/portal.db`;
  execFileSync(binPath(), ['demo', '--db', db], { env: { PATH: process.env.PATH }, stdio: 'ignore' });
  // A short idle limit so a sign-in can expire within the test.
  portal = await startPortal({ dir, db, signIn: false, args: ['--session-idle-ms', '1500'] });
  addUser(db, 'vera', 'viewer', PW);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  const { code } = await portal.stop();
  assert.equal(code, 0);
  assert.equal(sanitizerReport(portal), '');
});

async function fresh() {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  return { context, page, problems };
}

async function signIn(page, user, password) {
  await page.fill('#user', user);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('.signin-form button[type=submit]')]);
}

test('a signed-out deep link to a session page → sign in → lands on that page', async () => {
  const { context, page, problems } = await fresh();
  const deep = '/operator?session=s-atlas-02';
  await page.goto(`${portal.url}${deep}`);
  assert.equal(new URL(page.url()).pathname, '/login');
  assert.equal(await page.locator('[data-next]').textContent(), deep);
  // an auth block reads as sign-in, not as an error
  assert.equal(await page.locator('h1').textContent(), 'Sign in');
  assert.equal(await page.locator('[data-recovery-class], .form-error').count(), 0);
  await signIn(page, 'vera', PW);
  const at = new URL(page.url());
  assert.equal(at.pathname + at.search, deep);
  assert.match(await page.locator('[data-user]').textContent(), /vera/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('a wrong password keeps the continuation', async () => {
  const { context, page } = await fresh();
  await page.goto(`${portal.url}/substrate`);
  await signIn(page, 'vera', 'not-the-password');
  assert.match(await page.locator('.form-error').textContent(), /wrong/);
  assert.equal(await page.locator('[data-next]').textContent(), '/substrate');
  await page.fill('#password', PW);
  await Promise.all([page.waitForNavigation(), page.click('.signin-form button[type=submit]')]);
  assert.equal(new URL(page.url()).pathname, '/substrate');
  await context.close();
});

test('a sign-in that expires mid-work keeps the way back', async () => {
  const { context, page } = await fresh();
  await page.goto(`${portal.url}/login?next=%2Foperator`);
  await signIn(page, 'vera', PW);
  assert.equal(new URL(page.url()).pathname, '/operator');
  await new Promise((r) => setTimeout(r, 2500)); // idle past --session-idle-ms
  await page.goto(`${portal.url}/launch/temporal?from=work`);
  assert.equal(new URL(page.url()).pathname, '/login');
  assert.match(await page.locator('.notice').textContent(), /expired/);
  assert.equal(await page.locator('[data-next]').textContent(), '/launch/temporal?from=work');
  await signIn(page, 'vera', PW);
  const at = new URL(page.url());
  assert.equal(at.pathname + at.search, '/launch/temporal?from=work');
  await context.close();
});

test('next with off-site targets in every encoding lands on /', async () => {
  const targets = ['//evil.example', '/\\evil.example', 'https://evil.example', '%2F%2Fevil.example',
    '%2F%5Cevil.example', '%09%2F%2Fevil.example', '%2F%09%2Fevil.example', 'javascript%3Aalert(1)',
    '%252F%252Fevil.example', '%EF%BC%8F%EF%BC%8Fevil.example', '%2F%2F%2Fevil.example',
    'http%3A%2F%2F127.0.0.1.evil.example'];
  for (const t of targets) {
    const { context, page } = await fresh();
    await page.goto(`${portal.url}/login?next=${t}`);
    await signIn(page, 'vera', PW);
    const at = new URL(page.url());
    assert.equal(at.origin, portal.url, t);
    assert.equal(at.pathname, '/', t);
    await context.close();
  }
});

test('a viewer on an admin-only page gets 403 "request access", naming the role', async () => {
  const { context, page } = await fresh();
  await page.goto(`${portal.url}/login?next=%2Fadmin%2Fusers`);
  await signIn(page, 'vera', PW);
  const res = await page.goto(`${portal.url}/admin/users`);
  assert.equal(res.status(), 403);
  assert.equal(await page.locator('[data-recovery-class="auth"] h1').textContent(), 'Request access');
  assert.match(await page.locator('.recovery').textContent(), /needs the admin role/);
  assert.equal(await page.locator('.recovery a[href="/"]').count(), 1, 'a way on');
  await context.close();
});
