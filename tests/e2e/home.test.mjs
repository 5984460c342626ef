// The pages a person opens, in Debian's Chromium (headless) driven by
// playwright-core: the home page and the recovery page for a wrong address.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPortal, sanitizerReport, signedInPage, launchBrowser } from '../lib/portal.mjs';

let portal, browser;

before(async () => {
  portal = await startPortal();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  const { code } = await portal.stop();
  assert.equal(code, 0);
  assert.equal(sanitizerReport(portal), '');
});

// Opens a page and collects what a user would see go wrong in the console.
async function open(path) {
  const page = await signedInPage(browser, portal);
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  const res = await page.goto(`${portal.url}${path}`, { waitUntil: 'load' });
  return { page, res, problems };
}

test('the home page shows the five workflow stages in the navigation, without console errors', async () => {
  const { page, res, problems } = await open('/');
  assert.equal(res.status(), 200);
  const nav = page.getByRole('navigation', { name: 'Workflow path' });
  const links = await nav.getByRole('link').allTextContents();
  assert.deepEqual(links.map((t) => t.trim()), ['Onboarding', 'Work', 'Proposal', 'Proof', 'Recovery']);
  assert.equal(await page.locator('h1').count() >= 1, true);
  // Script enhances what the server rendered: the badge follows /readyz and
  // the stage in the address is marked as the current step.
  await page.locator('[data-ready][data-state="ready"]').waitFor({ timeout: 10000 });
  await nav.getByRole('link', { name: 'Proof' }).click();
  await page.locator('nav [data-stage="proof"][aria-current="step"]').waitFor({ timeout: 5000 });
  await page.close();
  assert.deepEqual(problems, []);
});

test('a wrong address shows the recovery page with a way back home', async () => {
  const { page, res, problems } = await open('/no/such/place');
  assert.equal(res.status(), 404);
  assert.equal(await page.locator('[data-recovery-class="product"]').count(), 1);
  await page.locator('[data-recovery-class="product"] a[href="/"]').first().click();
  await page.waitForURL(`${portal.url}/`);
  assert.equal(await page.getByRole('navigation', { name: 'Workflow path' }).count(), 1);
  await page.close();
  // The 404 document itself is reported by Chromium as a failed resource.
  assert.deepEqual(problems.filter((p) => !/status of 404/.test(p)), []);
});
