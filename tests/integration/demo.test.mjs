// The demo data set is true: `portal demo` makes its proposals through the
// store, so every proposal a page or the projection mentions can be opened,
// there is one in every state, its audit chain verifies, and a second run
// adds nothing. The server runs on the shipped example configuration, whose
// kinds the demo's proposals are of.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPortal, request, sanitizerReport, binPath, tempDir, freshDb, SYNC_MS } from '../lib/portal.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const EXAMPLE = fs.readFileSync(path.join(here, '../../config/portal.example.yaml'), 'utf8');
const STATES = ['submitted', 'approved', 'queued', 'running', 'executed', 'proving', 'proven',
  'rejected', 'cancelled', 'failed'];
const ID = /\bp-[0-9a-f]{16}\b/g;
let portal;

function cli(...args) {
  return execFileSync(binPath(), args, { encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: SYNC_MS });
}

async function page(p) {
  const r = await request(`${portal.url}${p}`, { headers: { Accept: 'text/html' } });
  assert.equal(r.status, 200, `${p}: ${r.status}`);
  return r.text;
}

before(async () => {
  const dir = tempDir();
  const db = freshDb(dir);
  assert.match(cli('demo', '--db', db, '--if-empty'), /made 10 demo proposals, one in every state/);
  portal = await startPortal({ dir, db, config: EXAMPLE });
});
after(async () => {
  const { code } = await portal.stop();
  assert.equal(code, 0);
  assert.equal(sanitizerReport(portal), '');
});

test('there is a proposal in every state, each of a kind the example configuration declares', async () => {
  const list = (await request(`${portal.url}/api/v1/proposals`)).json;
  const items = list.proposals;
  assert.ok(Array.isArray(items), JSON.stringify(list).slice(0, 200));
  const states = new Set(items.map((p) => p.state));
  for (const s of STATES) assert.ok(states.has(s), `no demo proposal is ${s}`);
  const kinds = [...EXAMPLE.matchAll(/^ {2}- name: ([a-z0-9-]+)\n {4}title:/gm)].map((m) => m[1]);
  for (const p of items) assert.ok(kinds.includes(p.kind), `${p.id} is of kind ${p.kind}`);
});

test('every proposal mentioned on /operator, /proof and /proposals opens', async () => {
  const ids = new Set();
  for (const p of ['/operator', '/proof', '/proposals']) {
    const found = (await page(p)).match(ID) ?? [];
    if (p !== '/operator') assert.ok(found.length > 0, `${p} names no proposal`);
    found.forEach((id) => ids.add(id));
  }
  for (const state of STATES)
    ((await page(`/proposals?state=${state}`)).match(ID) ?? []).forEach((id) => ids.add(id));
  assert.ok(ids.size >= STATES.length, `only ${ids.size} proposals named`);
  for (const id of ids) {
    await page(`/proposals/${id}`);
    const api = await request(`${portal.url}/api/v1/proposals/${id}`);
    assert.equal(api.status, 200, id);
    assert.ok(api.json.proposal.audit.length >= 1, `${id} has its audit trail`);
  }
});

test('the projection counts exactly the stored proposals, project by project', async () => {
  const list = (await request(`${portal.url}/api/v1/proposals`)).json;
  const items = list.proposals;
  const group = (s) => (s === 'proving' || s === 'proven' ? s
    : ['rejected', 'cancelled', 'failed'].includes(s) ? 'closed' : 'open');
  const want = {};
  for (const p of items) {
    want[p.project] ??= { open: 0, proving: 0, proven: 0, closed: 0 };
    want[p.project][group(p.state)]++;
  }
  const snap = (await request(`${portal.url}/api/v1/projection`)).json;
  const folded = snap.projects.reduce((n, pr) => n + Object.values(pr.proposals).reduce((a, b) => a + b, 0), 0);
  assert.equal(folded, items.length);
  for (const pr of snap.projects) {
    const w = want[pr.name] ?? { open: 0, proving: 0, proven: 0, closed: 0 };
    assert.deepEqual(pr.proposals, w, `project ${pr.name}`);
  }
});

test('the audit chain verifies and a second run adds nothing', () => {
  assert.match(cli('check', '--audit', '--db', portal.db), /chain intact/);
  assert.match(cli('demo', '--db', portal.db), /demo already loaded/);
  assert.doesNotMatch(cli('demo', '--db', portal.db), /made \d+ demo proposals/);
  assert.match(cli('demo', '--db', portal.db, '--if-empty'), /demo not loaded/);
  assert.match(cli('check', '--audit', '--db', portal.db), /chain intact/);
});
