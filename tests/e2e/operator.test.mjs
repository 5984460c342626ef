// The live operator view in a real browser: events posted by a producer
// reach the sessions table and the minimap at the same projection version,
// through the one event stream, without a reload.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startPortal, request, sanitizerReport, binPath, tempDir, signedInPage, launchBrowser, createToken } from '../lib/portal.mjs';

let portal, browser, token;

before(async () => {
  const dir = tempDir();
  const db = `${dir}/portal.db`;
  const env = { PATH: process.env.PATH };
  execFileSync(binPath(), ['demo', '--db', db], { env });
  token = createToken(db, 'e2e');
  portal = await startPortal({ dir, db });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  const { code } = await portal.stop();
  assert.equal(code, 0);
  assert.equal(sanitizerReport(portal), '');
});

test('posted events reach the table and the minimap at the same new version', async () => {
  const page = await signedInPage(browser, portal);
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${portal.url}/operator`);
  await page.locator('#freshness[data-freshness="live"]').waitFor({ timeout: 10000 });
  const before = Number(await page.locator('#sessions').getAttribute('data-version'));

  const r = await request(`${portal.url}/api/v1/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify([
      { id: 'e2e-1', type: 'session.started', project: 'browser-check', session: 'e2e-session', data: { harness: 'playwright' } },
      { id: 'e2e-2', type: 'session.blocked', project: 'browser-check', session: 'e2e-session', data: { reason: 'SSO expired', class: 'auth' } },
    ]),
  });
  assert.equal(r.status, 201);
  const version = r.json.events.at(-1).seq;
  assert.ok(version > before);

  await page.locator(`#sessions[data-version="${version}"]`).waitFor({ timeout: 10000 });
  await page.locator(`#minimap[data-version="${version}"]`).waitFor({ timeout: 10000 });
  const row = page.locator('#sessions tbody tr', { hasText: 'e2e-session' });
  assert.equal(await row.getAttribute('data-status'), 'blocked');
  assert.match(await row.textContent(), /access blocker, not a failure/);
  assert.equal(await page.locator('#minimap g[data-project="browser-check"] rect.blocked').count(), 1);
  assert.equal(await page.locator('#version').textContent(), `v${version}`);
  await page.close();
  assert.deepEqual(problems, []);
});
