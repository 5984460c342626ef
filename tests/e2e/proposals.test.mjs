// A proposal in a real browser: an operator proposes through the generated
// form, an approver (another person) approves, the worker executes it, and
// the operator view follows the project through the live stream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPortal, startWorker, addUser, login, sanitizerReport, launchBrowser } from '../lib/portal.mjs';
import { KINDS } from '../lib/kinds.mjs';

const PW = 'browser-proposal-pw1';
let portal, worker, browser;

before(async () => {
  portal = await startPortal({ config: KINDS });
  addUser(portal.db, 'olga', 'operator', PW);
  addUser(portal.db, 'abe', 'approver', PW);
  worker = await startWorker(portal, ['--concurrency', '2']);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  const w = await worker.stop();
  assert.equal(w.code, 0);
  const { code } = await portal.stop();
  assert.equal(code, 0);
  assert.equal(sanitizerReport(portal), '');
});

async function pageAs(name) {
  const s = await login(portal.url, name, PW);
  const context = await browser.newContext();
  await context.addCookies([{ name: 'portal_login', value: s.cookie.split('=')[1], url: portal.url }]);
  return context.newPage();
}

test('propose → approve as another person → executed → proven, with the operator view following', async () => {
  const watcher = await pageAs('abe');
  await watcher.goto(`${portal.url}/operator`);
  await watcher.locator('#freshness[data-freshness="live"]').waitFor({ timeout: 10000 });

  const olga = await pageAs('olga');
  await olga.goto(`${portal.url}/proposals`);
  await olga.getByRole('link', { name: 'Rotate a deploy key' }).click();
  await olga.selectOption('#f-project', 'zephyr');
  await olga.selectOption('#f-key_name', 'ci');
  await olga.fill('#f-ttl_days', '14');
  await Promise.all([olga.waitForNavigation(), olga.click('.proposal-form button[type=submit]')]);
  assert.match(new URL(olga.url()).pathname, /^\/proposals\/p-[0-9a-f]{16}$/);
  assert.equal(await olga.locator('#proposal').getAttribute('data-state'), 'submitted');
  assert.equal(await olga.locator('form[data-action="approve"]').count(), 0, 'the proposer cannot approve');
  const id = new URL(olga.url()).pathname.split('/').pop();

  // the operator view sees the new project's proposal through the stream
  await watcher.getByText('1 proposal moving through approval and execution').waitFor({ timeout: 10000 });

  const abe = await pageAs('abe');
  await abe.goto(`${portal.url}/proposals/${id}`);
  await Promise.all([abe.waitForNavigation(), abe.click('form[data-action="approve"] button')]);
  const deadline = Date.now() + 20000;
  let state;
  do {
    await abe.reload();
    state = await abe.locator('#proposal').getAttribute('data-state');
    if (state !== 'proven') await new Promise((r) => setTimeout(r, 300));
  } while (state !== 'proven' && Date.now() < deadline);
  assert.equal(state, 'proven');
  assert.match(await abe.locator('#proposal').textContent(), /sha256:[0-9a-f]{64}/);
  const steps = await abe.locator('#timeline li').evaluateAll((els) => els.map((e) => e.getAttribute('data-to')));
  assert.deepEqual(steps, ['submitted', 'approved', 'queued', 'running', 'executed', 'proving', 'proven']);
  // the closure, plane by plane, every join met
  assert.equal(await abe.locator('#closure').getAttribute('data-closure'), 'closed');
  for (const plane of ['graph', 'warehouse', 'evidence']) {
    const joins = await abe.locator(`#closure [data-plane="${plane}"] .join`).evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
    assert.ok(joins.length > 0 && joins.every((s) => s === 'met'), `${plane}: ${joins}`);
  }
  // nothing is left waiting for proof
  await abe.goto(`${portal.url}/proof`);
  await abe.getByText('No proposal is waiting for proof.').waitFor({ timeout: 5000 });
});

test('a kind whose input names the project has one Project picker of the declared projects, and it submits', async () => {
  const olga = await pageAs('olga');
  for (const width of [1280, 375]) {
    await olga.setViewportSize({ width, height: 900 });
    await olga.goto(`${portal.url}/proposals/new?kind=pause-project`);
    assert.equal(await olga.getByLabel('Project', { exact: true }).count(), 1, 'exactly one control labelled Project');
    assert.equal(await olga.locator('[name="project"]').count(), 1);
    const picker = olga.getByLabel('Project', { exact: true });
    assert.equal(await picker.evaluate((e) => e.tagName), 'SELECT');
    const options = await picker.locator('option').evaluateAll((els) => els.map((e) => e.value));
    assert.deepEqual(options, ['', 'atlas', 'chronicle', 'zephyr']);
    assert.equal(await picker.getAttribute('aria-describedby'), 'f-project-help');
    const overflow = await olga.locator('.proposal-form').evaluate((f) =>
      Math.max(...[f, ...f.querySelectorAll('*')].map((e) => e.getBoundingClientRect().right)) - window.innerWidth);
    assert.ok(overflow <= 0, `the form fits ${width}px (${overflow}px over)`);
  }
  await olga.getByLabel('Project', { exact: true }).selectOption('chronicle');
  await olga.fill('#f-minutes', '15');
  await Promise.all([olga.waitForNavigation(), olga.click('.proposal-form button[type=submit]')]);
  assert.match(new URL(olga.url()).pathname, /^\/proposals\/p-[0-9a-f]{16}$/);
  const id = new URL(olga.url()).pathname.split('/').pop();
  const p = (await (await olga.request.get(`${portal.url}/api/v1/proposals/${id}`)).json()).proposal;
  assert.equal(p.project, 'chronicle');
  assert.deepEqual(p.input, { project: 'chronicle', minutes: 15 });
});
