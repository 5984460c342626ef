// Crash safety: `serve` and workers killed with SIGKILL at random moments
// while events are posted, proposals submitted and approved, and proposals
// executed, round after round on one database. After every restart: each
// acknowledged event is in the log with the seq it was acknowledged with,
// seq strictly increases, the projection is at the log's last seq and is
// the bytes a fresh fold gives, every 202-acknowledged proposal exists with
// its audit rows, every proposal's audit trail is one path of the state
// machine with its live events, the audit chain verifies, and the queue
// drains with no lease left behind. The schedule comes from a seeded PRNG
// whose seed each test prints (PORTAL_CRASH_SEED=<n> replays it).
//
// What "executed once" means under kill -9. A worker records an outcome
// only after the executor returns, so a kill between the side effect and
// the record loses the record, and the attempt that takes over the expired
// lease runs the side effect again: execution is at least once. For exec,
// each run past the first must be explained by a killed attempt (a
// 'lease-expired' audit row of that proposal). For http, every call
// carries the proposal id as its idempotency key and request id, so an
// executor that honours the key performs the side effect exactly once per
// proposal; that is what is asserted for http.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startPortal, startWorker, login, addUser, tempDir, freshDb, dbSql, sanitizerReport } from '../lib/portal.mjs';
import {
  crashSeed, prng, kill9, sleep, waitFor, eventsToken, checkAudit, checkLog, checkProjection, checkRepost,
  watchStream, startProducer, startProposer, checkProposals,
} from '../lib/crash.mjs';

const PW = 'crash-password-123';
const san = /build-san/.test(process.env.PORTAL_BIN ?? '');

// Every sanitizer line any process printed, killed ones included.
function noSanitizerReports(procs) {
  const found = procs.map((p) => sanitizerReport(p)).filter(Boolean);
  assert.equal(found.join('\n'), '');
}

// Posts nothing, but checks a stream that resumes with Last-Event-ID after
// a restart: only versions after `last`, in order, up to the current one,
// and every acknowledged event after `last` exactly once (a session is
// started by one event only, so its id appearing twice would be a repeat).
async function checkResume(portal, last, acked, version) {
  if (last >= version) return;
  const w = watchStream(portal, last);
  await waitFor(() => w.last() >= version || w.ended, 15000, () => `stream resumed from ${last} reached ${w.last()}, not ${version}`);
  await w.stop();
  assert.ifError(w.error);
  let prev = last;
  for (const m of w.messages) {
    assert.ok(m.id > prev, `message ${m.event} ${m.id} after ${prev} (resumed from ${last})`);
    prev = m.id;
  }
  assert.equal(prev, version);
  const seen = new Map();
  for (const m of w.messages) for (const s of m.json.sessions ?? []) seen.set(s.id, (seen.get(s.id) ?? 0) + 1);
  for (const [id, seq] of acked) {
    if (seq <= last) continue;
    assert.equal(seen.get(`s-${id}`), 1, `acknowledged ${id} (seq ${seq}) reached the resumed stream ${seen.get(`s-${id}`) ?? 0} times`);
  }
}

test('kill -9 of serve while producers post: nothing acknowledged is lost, nothing is stored twice, the projection is the fold of the log', async () => {
  const rnd = prng(crashSeed('serve-events'));
  const ROUNDS = 6;
  const dir = tempDir();
  const db = freshDb(dir);
  const token = eventsToken(db);
  const acked = new Map();
  const producers = [];
  const servers = [];
  let portal = await startPortal({ dir, db });
  servers.push(portal);
  let streams = [];
  for (let round = 0; ; round++) {
    // The state after the restart.
    const { last } = checkLog(db, producers);
    const served = await checkProjection(portal);
    assert.equal(served.version, last);
    const sessions = new Set(served.json.sessions.map((s) => s.id));
    for (const id of acked.keys()) assert.ok(sessions.has(`s-${id}`), `acknowledged ${id} is not in the projection`);
    for (const w of streams) {
      // Nothing a client was sent before the kill is gone after it.
      assert.ok(w.last() <= served.version, `a client was sent version ${w.last()}; after the restart the log ends at ${served.version}`);
      for (const m of w.messages) for (const s of m.json.sessions ?? []) assert.ok(sessions.has(s.id), `${s.id} was streamed before the kill and is gone`);
      await checkResume(portal, Math.max(w.last(), 0), acked, served.version);
    }
    await checkRepost(portal, token, acked);
    if (round === ROUNDS) break;

    // Load, then kill -9 at a random moment.
    streams = [watchStream(portal), watchStream(portal)];
    const batch = [0, 1, 2].map((c) => startProducer({ url: portal.url, token, name: `r${round}c${c}`, rnd: prng(rnd.int(0, 2 ** 31)), acked }));
    producers.push(...batch);
    await sleep(rnd.int(150, 1200));
    await kill9(portal);
    await Promise.all(batch.map((p) => p.done));
    await Promise.all(streams.map((w) => w.done));
    for (const w of streams) assert.ifError(w.error);
    assert.ok(batch.some((p) => p.posts > 0), 'the producers posted before the kill');
    portal = await startPortal({ dir, db });
    servers.push(portal);
  }
  assert.ok(acked.size > 0);
  const inFlight = producers.reduce((n, p) => n + p.unanswered.length, 0);
  console.log(`# serve-events: ${acked.size} events acknowledged, ${inFlight} batches in flight at ${ROUNDS} kills`);
  assert.ok(inFlight > 0, 'some requests were in flight at a kill');
  assert.equal((await portal.stop()).code, 0);
  noSanitizerReports(servers);
});

// --- proposals

// hang only where it is used: a lease taken before the worker knows the
// kind lasts the longest kind's timeout, and a kill in that moment would
// keep the proposal for a minute.
const kindsConfig = ({ ran, port, hang }) => `
components:
  - name: runner
    ownership: owned
    internal_url: http://127.0.0.1:${port}
    executor_url: http://127.0.0.1:${port}/run
    health: {path: /}
projects:
  - name: atlas
proposals:
  - name: work
    propose: operator
    fields: [{name: n, type: integer, min: 0, max: 1000000, required: true}]
    execute:
      executor: exec
      argv: ["/bin/sh", "-c", 'sleep 0.2; echo "$PORTAL_PROPOSAL_ID" >> ${ran}']
      timeout_ms: 3000
      max_attempts: 20
  - name: remote
    propose: operator
    fields: [{name: n, type: integer, min: 0, max: 1000000, required: true}]
    execute: {executor: http, component: runner, timeout_ms: 3000, max_attempts: 20}
${hang ? `  - name: hang
    propose: operator
    fields: [{name: n, type: integer, min: 0, max: 1000000, required: true}]
    execute: {executor: exec, argv: ["/bin/sleep", "37.5"], timeout_ms: 60000, max_attempts: 1}
` : ''}`;

// An executor behind the http kind: answers after a while, and performs
// its side effect once per idempotency key, as the contract asks of it.
async function fakeExecutor() {
  const calls = [];
  const effects = new Map(); // key → times performed
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST') { res.writeHead(200); res.end('{"ok":true}'); return; }
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const key = req.headers['idempotency-key'];
      calls.push({ key, requestId: req.headers['x-request-id'], proposal: JSON.parse(body).proposal });
      setTimeout(() => {
        if (!effects.has(key)) effects.set(key, 1);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ done: key }));
      }, 200);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { calls, effects, port: server.address().port, close: () => { server.closeAllConnections(); server.close(); } };
}

async function proposalSetup({ hang = false } = {}) {
  const dir = tempDir();
  const db = freshDb(dir);
  const ran = path.join(dir, 'ran.log');
  fs.writeFileSync(ran, '');
  const exec = await fakeExecutor();
  const config = kindsConfig({ ran, port: exec.port, hang });
  addUser(db, 'olga', 'operator', PW, { existing: true });
  addUser(db, 'abe', 'approver', PW, { existing: true });
  const servers = [], workers = [];
  const serve = async () => {
    const p = await startPortal({ dir, db, config });
    servers.push(p);
    const [olga, abe] = await Promise.all([login(p.url, 'olga', PW), login(p.url, 'abe', PW)]);
    return { p, olga, abe };
  };
  let nworker = 0;
  const worker = async (p, args = []) => {
    const id = `crash-w${nworker++}`;
    const w = await startWorker(p, ['--id', id, '--concurrency', '2', '--lease-slack-ms', '300', ...args]);
    w.id = id;
    workers.push(w);
    return w;
  };
  return { dir, db, ran, exec, serve, worker, servers, workers };
}

// Proposals that are approved or after, waiting on the queue or a worker.
const PENDING = ['approved', 'queued', 'running', 'executed', 'proving'];

// Waits until no proposal is pending, then checks the outcome of every one
// that was approved: proven, with the side effect done at least once for
// exec (each repeat explained by a killed attempt) and exactly once per
// key for http. Returns the checked proposals.
async function checkDrained(s, { kills }) {
  await waitFor(() => {
    const n = Number(dbSql(s.db, `SELECT count(*) FROM portal_proposals WHERE state IN (${PENDING.map((x) => `'${x}'`).join(', ')})`));
    return n === 0;
  }, 90000, () => dbSql(s.db, "SELECT id || ' ' || state || ' ' || attempts || ' ' || coalesce(lease_owner, '-') FROM portal_proposals WHERE state NOT IN ('proven', 'submitted', 'failed')"));
  const { proposals, audit } = checkProposals(s.db);
  const ran = new Map();
  for (const id of fs.readFileSync(s.ran, 'utf8').split('\n').filter(Boolean)) ran.set(id, (ran.get(id) ?? 0) + 1);
  let expired = 0;
  const kinds = new Map(dbSql(s.db, 'SELECT id, kind FROM portal_proposals').split('\n').map((l) => l.split('|')));
  for (const [id, p] of proposals) {
    if (p.state === 'submitted') continue; // never approved
    const trail = audit.get(id);
    const attempts = trail.filter((a) => a.to === 'running').length;
    const killed = trail.filter((a) => a.actor === 'lease-expired').length;
    expired += killed;
    assert.equal(p.state, 'proven', `${id} ended ${p.state}: ${p.last_error}`);
    assert.equal(p.attempts, attempts, `${id}: attempts counted ${p.attempts}, audited ${attempts}`);
    if (kinds.get(id) === 'work') {
      const times = ran.get(id) ?? 0;
      assert.ok(times >= 1, `${id} is proven but its command never ran`);
      assert.ok(times <= attempts, `${id} ran ${times} times in ${attempts} attempts`);
      assert.ok(times - 1 <= killed, `${id} ran ${times} times with ${killed} killed attempts`);
    } else {
      const calls = s.exec.calls.filter((c) => c.proposal === id);
      assert.ok(calls.length >= 1 && calls.length <= attempts, `${id}: ${calls.length} calls in ${attempts} attempts`);
      for (const c of calls) {
        assert.equal(c.key, id, 'the idempotency key is the proposal id');
        assert.equal(c.requestId, id, 'the request id is the proposal id');
      }
      assert.equal(s.exec.effects.get(id), 1, `${id}: the side effect ran once for its key`);
    }
  }
  for (const id of ran.keys()) assert.ok(proposals.has(id), `a command ran for ${id}, which does not exist`);
  if (kills > 0) assert.ok(expired > 0, 'a killed worker left a lease that another worker took over');
  const a = checkAudit(s.db);
  assert.equal(a.status, 0, a.stderr);
  assert.match(a.stdout, /chain intact/);
  return proposals;
}

async function proposeAndApprove({ p, olga, abe }, kind, n) {
  const post = (who, url, body, headers = {}) => fetch(`${p.url}${url}`, {
    method: 'POST', body: JSON.stringify(body),
    headers: { Cookie: who.cookie, 'X-CSRF-Token': who.csrf, 'Content-Type': 'application/json', ...headers },
  }).then(async (r) => ({ status: r.status, json: await r.json() }));
  const sub = await post(olga, '/api/v1/proposals', { kind, project: 'atlas', input: { n } });
  assert.equal(sub.status, 202, JSON.stringify(sub.json));
  const ap = await post(abe, `/api/v1/proposals/${sub.json.proposal.id}/approve`, {});
  assert.equal(ap.status, 200, JSON.stringify(ap.json));
  return sub.json.proposal.id;
}

// The processes whose command line names the marker, as pgrep sees them.
function running(marker) {
  const r = spawnSync('pgrep', ['-f', marker], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}

test('kill -9 of workers mid-execution: leases are taken over, every approved proposal ends proven, the audit chain verifies', async () => {
  const rnd = prng(crashSeed('worker-kills'));
  const s = await proposalSetup();
  const srv = await s.serve();
  let live = [await s.worker(srv.p), await s.worker(srv.p)];
  let kills = 0, n = 0;
  try {
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 4; i++) await proposeAndApprove(srv, rnd.chance(0.7) ? 'work' : 'remote', n++);
      // A moment when some attempt is running, then a random subset dies.
      const owners = live.map((w) => `'${w.id}'`).join(', ');
      await waitFor(() => dbSql(s.db, `SELECT count(*) FROM portal_proposals WHERE state = 'running' AND lease_owner IN (${owners})`) !== '0', 15000, 'an attempt running on a live worker');
      await sleep(rnd.int(0, 250));
      const victims = live.filter(() => rnd.chance(0.6));
      if (victims.length === 0) victims.push(rnd.pick(live));
      await Promise.all(victims.map(kill9));
      kills += victims.length;
      live = live.filter((w) => !victims.includes(w));
      for (let k = 0; k < victims.length; k++) live.push(await s.worker(srv.p));
    }
    const done = await checkDrained(s, { kills });
    console.log(`# worker-kills: ${done.size} proposals proven through ${kills} worker kills`);
    assert.ok(kills >= 6);
    for (const w of live) assert.equal((await w.stop()).code, 0);
    assert.equal((await srv.p.stop()).code, 0);
    noSanitizerReports([...s.servers, ...s.workers]);
  } finally {
    for (const w of live) await w.stop();
    await srv.p.stop();
    s.exec.close();
  }
});

test('a command whose worker is killed with -9 does not outlive it', async () => {
  const s = await proposalSetup({ hang: true });
  const srv = await s.serve();
  const w = await s.worker(srv.p);
  try {
    const id = await proposeAndApprove(srv, 'hang', 1);
    await waitFor(() => running('^/bin/sleep 37.5$').length === 1, 10000, `${id}'s command started`);
    await kill9(w);
    // Nobody would stop it any more: not its timeout, not a drain.
    await waitFor(() => running('^/bin/sleep 37.5$').length === 0, 10000, `the command of ${id} still runs after its worker died`);
  } finally {
    for (const pid of running('^/bin/sleep 37.5$')) process.kill(Number(pid), 'SIGKILL');
    await srv.p.stop();
    s.exec.close();
  }
});

// After a restart: every 202 is a proposal with its audit rows; every 200
// to an approval left the proposal queued; an approval cut short left it
// submitted or queued, never half-way; the same Idempotency-Key gives the
// same proposal, and one key never made two.
async function checkSubmissions(s, srv, proposers) {
  const { proposals, audit } = checkProposals(s.db);
  for (const pr of proposers) {
    assert.deepEqual(pr.errors, []);
    for (const [id, key] of pr.submitted) {
      const p = proposals.get(id);
      assert.ok(p, `the 202-acknowledged proposal ${id} is gone`);
      assert.equal(p.idempotency_key, key);
      const first = audit.get(id)[0];
      assert.deepEqual([first.from, first.to, first.actor], ['', 'submitted', 'olga']);
    }
    for (const id of pr.approved) {
      assert.ok(!['submitted', 'approved'].includes(proposals.get(id).state), `${id} was approved (200) and is ${proposals.get(id).state}`);
      assert.ok(audit.get(id).some((a) => a.to === 'approved' && a.actor === 'abe'));
    }
  }
  for (const [id, p] of proposals) assert.notEqual(p.state, 'approved', `${id} is stuck half-way between approved and queued`);
  // The same key again: the same proposal.
  for (const pr of proposers) {
    const again = [...pr.submitted].slice(-3).concat(pr.unansweredSubmit.map((k) => [null, k]));
    for (const [id, key] of again) {
      const r = await fetch(`${srv.p.url}/api/v1/proposals`, {
        method: 'POST', body: JSON.stringify({ kind: 'work', project: 'atlas', input: { n: 0 } }),
        headers: { Cookie: srv.olga.cookie, 'X-CSRF-Token': srv.olga.csrf, 'Content-Type': 'application/json', 'Idempotency-Key': key },
      });
      const json = await r.json();
      assert.equal(r.status, 202, JSON.stringify(json));
      if (id) assert.equal(json.proposal.id, id, `key ${key} gave another proposal`);
    }
  }
  const dup = dbSql(s.db, 'SELECT count(*) FROM (SELECT idempotency_key FROM portal_proposals WHERE idempotency_key IS NOT NULL GROUP BY proposer, idempotency_key HAVING count(*) > 1) x');
  assert.equal(dup, '0');
  const a = checkAudit(s.db);
  assert.equal(a.status, 0, a.stderr);
}

test('kill -9 of serve during submissions and approvals: every 202 survives with its audit rows, nothing is left half-approved', async () => {
  const rnd = prng(crashSeed('serve-proposals'));
  const s = await proposalSetup();
  const proposers = [];
  let srv = await s.serve();
  try {
    for (let round = 0; round < 6; round++) {
      const batch = [0, 1, 2].map((c) => startProposer({
        portal: srv.p, proposer: srv.olga, approver: srv.abe, kind: 'work', input: (k) => ({ n: k }),
        rnd: prng(rnd.int(0, 2 ** 31)), name: `r${round}c${c}`,
      }));
      proposers.push(...batch);
      await sleep(rnd.int(150, 1000));
      await kill9(srv.p);
      await Promise.all(batch.map((p) => p.done));
      srv = await s.serve();
      await checkSubmissions(s, srv, batch);
      await checkProjection(srv.p);
    }
    const n = (f) => proposers.reduce((k, p) => k + f(p), 0);
    console.log(`# serve-proposals: ${n((p) => p.submitted.size)} submissions and ${n((p) => p.approved.size)} approvals acknowledged, `
      + `${n((p) => p.unansweredSubmit.length + p.unansweredApprove.length)} in flight at 6 kills`);
    assert.ok(n((p) => p.submitted.size) > 0);
    assert.equal((await srv.p.stop()).code, 0);
    noSanitizerReports(s.servers);
  } finally {
    await srv.p.stop();
    s.exec.close();
  }
});

test('kill -9 of serve and workers together, repeatedly, under events, proposals and execution', async () => {
  const rnd = prng(crashSeed('everything'));
  const s = await proposalSetup();
  const token = eventsToken(s.db);
  const acked = new Map();
  const producers = [], proposers = [];
  let srv = await s.serve();
  let live = [];
  let kills = 0;
  try {
    for (let round = 0; round < 5; round++) {
      live = [await s.worker(srv.p), await s.worker(srv.p)];
      const ev = [0, 1].map((c) => startProducer({ url: srv.p.url, token, name: `r${round}c${c}`, rnd: prng(rnd.int(0, 2 ** 31)), acked }));
      const pr = [0, 1].map((c) => startProposer({
        portal: srv.p, proposer: srv.olga, approver: srv.abe, kind: rnd.chance(0.7) ? 'work' : 'remote', input: (k) => ({ n: k }),
        rnd: prng(rnd.int(0, 2 ** 31)), name: `r${round}c${c}`, pauseMs: 150,
      }));
      producers.push(...ev);
      proposers.push(...pr);
      await sleep(rnd.int(300, 1500));
      // Together: serve and every worker in the same instant.
      await Promise.all([srv.p, ...live].map(kill9));
      kills += live.length;
      await Promise.all([...ev, ...pr].map((x) => x.done));
      srv = await s.serve();
      // Nothing runs but the new serve while the state is checked.
      checkLog(s.db, producers);
      await checkSubmissions(s, srv, pr);
      await checkProjection(srv.p);
    }
    live = [await s.worker(srv.p), await s.worker(srv.p)];
    // Kills here land at any moment, not only while an attempt runs, so a
    // taken-over lease is not required (the test above requires it).
    const done = await checkDrained(s, { kills: 0 });
    console.log(`# everything: ${acked.size} events, ${done.size} proposals through 5 kills of serve and ${kills} of workers`);
    assert.ok(kills > 0);
    checkLog(s.db, producers);
    await checkRepost(srv.p, token, acked);
    await checkProjection(srv.p);
    for (const w of live) assert.equal((await w.stop()).code, 0);
    assert.equal((await srv.p.stop()).code, 0);
    noSanitizerReports([...s.servers, ...s.workers]);
  } finally {
    for (const w of live) await w.stop();
    await srv.p.stop();
    s.exec.close();
  }
});
