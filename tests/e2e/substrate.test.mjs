// /substrate and /launch in Chromium, on the shipped catalogue: the two
// sections, launch links that open public URLs in a new tab, guidance one
// click away, and a clean console.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startPortal, sanitizerReport, signedInPage, launchBrowser } from '../lib/portal.mjs';

let portal, browser;
before(async () => {
  const config = fs.readFileSync('config/portal.example.yaml', 'utf8').replace(/^  listen: .*$/m, '  listen: 127.0.0.1:0');
  portal = await startPortal({ config });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  assert.equal((await portal.stop()).code, 0);
  assert.equal(sanitizerReport(portal), '');
});

test('substrate shows owned and integrated apart, and leads to launch guidance', async () => {
  const page = await signedInPage(browser, portal);
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${portal.url}/substrate`);
  await page.getByRole('link', { name: 'Substrate' }).first().waitFor();
  assert.equal(await page.getByRole('heading', { name: 'Owned by FractalOps' }).count(), 1);
  assert.equal(await page.getByRole('heading', { name: 'Integrated endpoints' }).count(), 1);
  assert.ok(await page.locator('#owned tr[data-component]').count() >= 5);
  assert.ok(await page.locator('#endpoints tr[data-component]').count() >= 4);
  const launch = page.locator('#endpoints tr[data-component="penpot"] a.launch');
  assert.equal(await launch.getAttribute('target'), '_blank');
  assert.equal(await launch.getAttribute('rel'), 'noopener noreferrer');
  await page.locator('#endpoints tr[data-component="penpot"]').getByRole('link', { name: 'Launch guidance' }).click();
  await page.waitForURL(`${portal.url}/launch/penpot`);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Launch Penpot');
  assert.match(await page.locator('#launch').textContent(), /Where you will sign in/);
  await page.close();
  assert.deepEqual(problems, []);
});
