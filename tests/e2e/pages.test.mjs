// Project and session pages in a real browser: from the home page's project
// spine to a project, to one of its sessions, along the resume chain and
// back, by clicking links only; and the signed-out overview.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startPortal, sanitizerReport, binPath, tempDir, signedInPage, launchBrowser } from '../lib/portal.mjs';

let portal, browser;

before(async () => {
  const dir = tempDir();
  const db = `${dir}/portal.db`;
  execFileSync(binPath(), ['demo', '--db', db], { env: { PATH: process.env.PATH } });
  // The spine is what portal.yaml declares: the demo's five projects.
  const config = `projects:\n${['atlas', 'chronicle', 'fractalops', 'nexus-sync', 'penpot-bridge'].map((n) => `  - {name: ${n}}\n`).join('')}`;
  portal = await startPortal({ dir, db, config });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  const { code } = await portal.stop();
  assert.equal(code, 0);
  assert.equal(sanitizerReport(portal), '');
});

// Every page is opened through these, so signing a test user in is a change
// in one place: `open` for what a signed-in person sees, `openPublic` for
// what anyone may.
async function newPage(signedIn = true) {
  const page = signedIn ? await signedInPage(browser, portal) : await browser.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return { page, problems };
}
async function open(path, signedIn = true) {
  const { page, problems } = await newPage(signedIn);
  const res = await page.goto(`${portal.url}${path}`, { waitUntil: 'load' });
  return { page, res, problems };
}
const openPublic = (path) => open(path, false);

test('from the spine to a project, to a session, along its chain and back', async () => {
  const { page, res, problems } = await open('/');
  assert.equal(res.status(), 200);
  await page.locator('#spine a', { hasText: 'atlas' }).click();
  await page.waitForURL(`${portal.url}/projects/atlas`);
  assert.equal(await page.locator('h1').textContent(), 'atlas');
  const current = page.locator('#stage li[aria-current="step"]');
  assert.equal(await current.count(), 1);
  // The demo's atlas has a proposal running (portal demo makes real ones now).
  assert.equal(await current.textContent(), 'Proposal');
  assert.equal(await page.locator('#stage ol.steps li').count(), 5);

  await page.locator('#sessions a', { hasText: 's-atlas-03' }).click();
  await page.waitForURL(`${portal.url}/sessions/s-atlas-03`);
  assert.equal(await page.locator('h1').textContent(), 'Session s-atlas-03');
  assert.equal(await page.locator('#session > section').count(), 5);
  for (const h of ['Continuity', 'Source lineage', 'Launch contract', 'First tool family', 'Practical next step'])
    assert.equal(await page.getByRole('heading', { name: h, level: 2 }).count(), 1, h);

  await page.locator('#continuity a', { hasText: 's-atlas-01' }).click();
  await page.waitForURL(`${portal.url}/sessions/s-atlas-01`);
  await page.locator('#continuity a', { hasText: 's-atlas-02' }).click();
  await page.waitForURL(`${portal.url}/sessions/s-atlas-02`);
  assert.match(await page.locator('#continuity').textContent(), /s-atlas-01\s*→\s*this session/);

  await page.locator('#next-step a', { hasText: 'Project atlas' }).click();
  await page.waitForURL(`${portal.url}/projects/atlas`);
  await page.close();
  assert.deepEqual(problems, []);
});

test('a blocked session is one click from its project page', async () => {
  const { page, problems } = await open('/projects/fractalops');
  assert.equal(await page.locator('#stage li[aria-current="step"]').textContent(), 'Recovery');
  await page.locator('#next a', { hasText: 'Clear blocked session s-fractalops-02' }).click();
  await page.waitForURL(`${portal.url}/sessions/s-fractalops-02`);
  assert.match(await page.locator('#continuity').textContent(), /access, not a failure/);
  await page.close();
  assert.deepEqual(problems, []);
});

test('an unknown session leads back to the operator view', async () => {
  const { page, res } = await open('/sessions/nobody-here');
  assert.equal(res.status(), 404);
  assert.equal(await page.locator('[data-recovery-class="product"]').count(), 1);
  await page.locator('[data-recovery-class] a[href="/operator"]').click();
  await page.waitForURL(`${portal.url}/operator`);
  assert.equal(await page.locator('h1').textContent(), 'Operator');
  await page.close();
});

test('the signed-out overview reads without errors and links to sign-in', async () => {
  const { page, res, problems } = await openPublic('/welcome');
  assert.equal(res.status(), 200);
  for (const h of ['Project spine', 'Session continuity', 'Validation', 'Next actions'])
    assert.equal(await page.getByRole('heading', { name: h, level: 2 }).count(), 1, h);
  assert.equal(await page.locator('#spine li[data-project]').count(), 5);
  assert.equal(await page.locator('main a[href^="/sessions/"], main a[href^="/projects/"]').count(), 0);
  assert.equal(await page.locator('main').getByRole('link', { name: 'Sign in' }).getAttribute('href'), '/login?next=/');
  assert.equal(await page.locator('header .signin-link').getAttribute('href'), '/login?next=%2Fwelcome');
  await page.close();
  assert.deepEqual(problems, []);
});
