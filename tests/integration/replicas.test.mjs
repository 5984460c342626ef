// Scale-out on PostgreSQL: two `serve` replicas and two workers on one
// database. An event accepted by replica A reaches B's stream with the same
// version, and both serve byte-identical snapshots; 1,000 proposals run
// exactly once across the workers; a replica killed mid-stream leaves its
// clients to resume on the other with Last-Event-ID. Runs when
// PORTAL_TEST_PG names a throwaway cluster (tests/run.sh starts one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startPortal, startWorker, request, login, addUser, tempDir, binPath, sanitizerReport, slow, fileTimeLimit } from '../lib/portal.mjs';
import { readEvents } from '../lib/sse.mjs';

const BASE = process.env.PORTAL_TEST_PG;
const skip = BASE ? false : 'needs PostgreSQL: set PORTAL_TEST_PG (tests/run.sh does)';
// The 1,000 proposals take up to four minutes of their own.
fileTimeLimit(480);
const PW = 'replica-password-1';

// A fresh database on the cluster for one test.
function freshDatabase() {
  const name = `replicas_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  execFileSync('psql', [BASE, '-qAt', '-c', `CREATE DATABASE ${name}`]);
  const u = new URL(BASE);
  u.pathname = `/${name}`;
  u.search = '';
  return u.toString();
}

function token(db, name, scope) {
  const out = execFileSync(binPath(), ['token', 'create', '--name', name, '--scope', scope, '--db', db],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return out.trim().split('\n').pop();
}

const ev = (id, extra = {}) => ({ id, type: 'session.started', project: 'atlas', session: `s-${id}`, ts: Date.now(), source: 'replicas-test', data: {}, ...extra });

async function post(url, tok, body) {
  const r = await request(`${url}/api/v1/events`, {
    method: 'POST', auth: false, headers: { Authorization: `Bearer ${tok}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  assert.ok(r.status === 200 || r.status === 201, r.text);
  return r.json.events;
}

async function snapshot(url, tok) {
  const r = await fetch(`${url}/api/v1/projection`, { headers: { Authorization: `Bearer ${tok}` } });
  assert.equal(r.status, 200);
  const bytes = Buffer.from(await r.arrayBuffer());
  return { version: JSON.parse(bytes).version, hash: crypto.createHash('sha256').update(bytes).digest('hex') };
}

async function twoReplicas(config) {
  const db = freshDatabase();
  execFileSync(binPath(), ['migrate', '--db', db], { stdio: 'ignore' });
  // Tokens first: a replica loads them at start (and then once a second).
  const write = token(db, 'producer', 'events:write'), read = token(db, 'reader', 'read');
  const a = await startPortal({ db, config });
  const b = await startPortal({ db, config });
  return { db, a, b, write, read };
}

test('an event accepted by replica A reaches B\'s stream with the same version and snapshot', { skip }, async () => {
  const { a, b, write, read } = await twoReplicas();
  try {
    const ac = new AbortController();
    const stream = await fetch(`${b.url}/api/v1/stream`, { signal: ac.signal, headers: { Authorization: `Bearer ${read}` } });
    assert.equal(stream.status, 200);
    let last = 0;
    for (let i = 0; i < 50; i++) last = (await post(a.url, write, ev(`fan-${i}`)))[0].seq;
    const msgs = await readEvents(stream, (m) => m.some((x) => Number(x.id) === last), 15000);
    ac.abort();
    assert.equal(Number(msgs.at(-1).id), last, 'B streamed up to the last event A accepted');
    assert.equal(msgs.at(-1).json.version, last);
    const [sa, sb] = await Promise.all([snapshot(a.url, read), snapshot(b.url, read)]);
    assert.equal(sa.version, last);
    assert.equal(sb.version, last);
    assert.equal(sa.hash, sb.hash, 'byte-identical snapshots for the same version');
  } finally {
    await a.stop();
    await b.stop();
    assert.equal(sanitizerReport(a), '');
    assert.equal(sanitizerReport(b), '');
  }
});

test('a replica killed mid-stream: its client resumes on the other with Last-Event-ID, missing nothing', { skip }, async () => {
  const { a, b, write, read } = await twoReplicas();
  try {
    const ac = new AbortController();
    const s1 = await fetch(`${a.url}/api/v1/stream`, { signal: ac.signal, headers: { Authorization: `Bearer ${read}` } });
    let first = 0;
    for (let i = 0; i < 5; i++) first = (await post(a.url, write, ev(`before-${i}`)))[0].seq;
    const before = await readEvents(s1, (m) => m.some((x) => Number(x.id) === first), 15000);
    const lastSeen = Number(before.at(-1).id);
    a.process.kill('SIGKILL');
    await a.exited;
    ac.abort();
    // Written while the client was away, through the surviving replica.
    const missed = [];
    for (let i = 0; i < 5; i++) missed.push((await post(b.url, write, ev(`after-${i}`)))[0].seq);
    const s2 = await fetch(`${b.url}/api/v1/stream`, { headers: { Authorization: `Bearer ${read}`, 'Last-Event-ID': String(lastSeen) } });
    assert.equal(s2.status, 200);
    const resumed = await readEvents(s2, (m) => m.some((x) => Number(x.id) === missed.at(-1)), 15000);
    assert.deepEqual(resumed.map((m) => m.event), missed.map(() => 'delta'), 'deltas only: the gap is covered');
    assert.deepEqual(resumed.map((m) => Number(m.id)), missed, 'every event after Last-Event-ID, in order');
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('1,000 proposals across two replicas and two workers are each executed exactly once', { skip, timeout: 240000 * slow }, async () => {
  const out = path.join(tempDir(), 'executed.log');
  const config = `
projects:
  - name: atlas
proposals:
  - name: mark
    propose: operator
    fields: [{name: n, type: integer, min: 0, max: 100000, required: true}]
    execute:
      executor: exec
      argv: ["/bin/sh", "-c", "printf '%s\\\\n' \\"$1\\" >> ${out}", "mark", "{n}"]
      timeout_ms: 10000
`;
  const { db, a, b } = await twoReplicas(config);
  addUser(db, 'olga', 'operator', PW);
  addUser(db, 'abe', 'approver', PW);
  const [olgaA, abeB] = await Promise.all([login(a.url, 'olga', PW), login(b.url, 'abe', PW)]);
  const w1 = await startWorker(a, ['--id', 'w1', '--concurrency', '4']);
  const w2 = await startWorker(b, ['--id', 'w2', '--concurrency', '4']);
  const N = 1000;
  try {
    const call = (url, s, p, body) => fetch(`${url}${p}`, {
      method: 'POST', headers: { Cookie: s.cookie, 'X-CSRF-Token': s.csrf, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, json: await r.json() }));
    const ids = [];
    for (let start = 0; start < N; start += 50) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, N - start) }, (_, k) =>
        call(a.url, olgaA, '/api/v1/proposals', { kind: 'mark', project: 'atlas', input: { n: start + k } })));
      for (const r of batch) { assert.equal(r.status, 202); ids.push(r.json.proposal.id); }
      const decided = await Promise.all(batch.map((r) => call(b.url, abeB, `/api/v1/proposals/${r.json.proposal.id}/approve`, {})));
      for (const d of decided) assert.equal(d.status, 200, JSON.stringify(d.json));
    }
    const deadline = Date.now() + 180000 * slow;
    let lines = [];
    while (Date.now() < deadline) {
      lines = fs.existsSync(out) ? fs.readFileSync(out, 'utf8').trim().split('\n').filter(Boolean) : [];
      if (lines.length >= N) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await new Promise((r) => setTimeout(r, 1000)); // a late duplicate would show here
    lines = fs.readFileSync(out, 'utf8').trim().split('\n');
    const counts = new Map();
    for (const l of lines) counts.set(l, (counts.get(l) ?? 0) + 1);
    assert.equal(counts.size, N, 'every proposal ran');
    assert.equal(lines.length, N, `each ran once (${lines.length - counts.size} ran twice)`);
    const executedBy = execFileSync('psql', [db, '-qAt', '-c',
      "SELECT actor, count(*) FROM portal_audit WHERE to_state = 'running' GROUP BY actor ORDER BY actor"], { encoding: 'utf8' });
    assert.match(executedBy.trim(), /^worker:w1\|\d+\nworker:w2\|\d+$/, `both workers took part:\n${executedBy}`);
    const audit = execFileSync(binPath(), ['check', '--audit', '--db', db], { encoding: 'utf8' });
    assert.match(audit, /chain intact/);
  } finally {
    await w1.stop();
    await w2.stop();
    await a.stop();
    await b.stop();
  }
});
