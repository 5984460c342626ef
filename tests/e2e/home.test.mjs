// The pages a person opens, in Debian's Chromium (headless) driven by
// playwright-core: the home page, the recovery page for a wrong address, and
// the signed-out preview's Validation at desktop and phone width.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startPortal, sanitizerReport, signedInPage, launchBrowser, createToken, request, tempDir } from '../lib/portal.mjs';

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

test('the signed-out preview reads at desktop and phone width: Validation lists check\'s problems and the undeclared project, nothing runs past the window', async () => {
  const config = `server:
  mode: dev
components:
  - {name: temporal, ownership: owned, internal_url: "http://127.0.0.1:9/t", auth: {kind: bearer, secret: temporal_token}, health: {path: /}}
secrets:
  temporal_token: env:E2E_VALIDATION_TEMPORAL
projects:
  - {name: chronicle, components: [temporal]}
`;
  const dir = tempDir();
  const other = await startPortal({ dir, config });
  try {
    const token = createToken(other.db, 'producer');
    let posted;
    for (let i = 0; i < 50; i++) { /* the token cache reloads every ready interval */
      posted = await request(`${other.url}/api/v1/events`, {
        method: 'POST', auth: false,
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify({ id: 'e2e-typo-1', type: 'session.started', project: 'chronicel', session: 's-e2e-1', ts: Date.now() }),
      });
      if (posted.status < 300) break;
      await new Promise((ok) => setTimeout(ok, 200));
    }
    assert.ok(posted.status < 300, posted.text);
    const shots = process.env.PORTAL_SCREENSHOTS ?? fs.mkdtempSync(path.join(dir, 'shots-'));
    for (const [name, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]]) {
      const context = await browser.newContext({ viewport });
      const page = await context.newPage();
      const res = await page.goto(`${other.url}/`, { waitUntil: 'load' });
      assert.equal(res.status(), 200);
      const v = page.locator('#validation');
      await v.locator('[data-undeclared="chronicel"]').waitFor({ timeout: 10000 });
      assert.equal(await v.locator('[data-count="problems"] strong').textContent(), '1', name);
      assert.match(await v.locator('#check-list li').first().textContent(), /A secret Portal needs is missing\. Provide it at its source/);
      assert.equal(await page.locator('#spine [data-project="chronicel"]').count(), 0, `${name}: not a step of the spine`);
      // Within <main>: the header's view links are the layout's own matter.
      const wide = await page.evaluate(() => [...document.querySelectorAll('main *')]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5).map((e) => `${e.tagName}.${e.className}`));
      assert.deepEqual(wide, [], `${name}: nothing in the page runs past the window`);
      await v.screenshot({ path: path.join(shots, `preview-validation-${name}.png`) });
      await page.screenshot({ path: path.join(shots, `preview-${name}.png`), fullPage: true });
      await context.close();
    }
  } finally {
    assert.equal((await other.stop()).code, 0);
  }
});
