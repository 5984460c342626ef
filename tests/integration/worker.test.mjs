// `portal worker`: the real binary against a temporary database and a
// configuration with exec and http kinds. Proposals are put in the queue
// with the sqlite3 shell or psql (no API submits them yet); everything after that is
// the worker's: the lease, the executor, the outcome, the drain on SIGTERM.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { binPath, tempDir, freshDb, dbSql as sql, onPg, slow } from '../lib/portal.mjs';

const bin = binPath();
const TOKEN = 'integration-runner-t0ken';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function config(executorUrl) {
  return `server:
  mode: dev
components:
  - name: runner
    title: Runner
    role: runs deploys for the integration test
    ownership: owned
    internal_url: http://127.0.0.1:9
    executor_url: ${executorUrl}
    auth: {kind: bearer, secret: runner_token}
    health: {path: /health, expect_status: 200}
proposals:
  - name: restart
    fields:
      - {name: service, type: string, required: true}
    execute:
      executor: exec
      argv: ["/usr/bin/printf", "restarted {service}"]
      timeout_ms: 5000
      max_attempts: 2
  - name: broken
    fields:
      - {name: service, type: string, required: true}
    execute:
      executor: exec
      argv: ["/bin/false"]
      timeout_ms: 5000
      max_attempts: 1
  - name: slow
    fields:
      - {name: service, type: string, required: true}
    execute:
      executor: exec
      argv: ["/bin/sleep", "30"]
      timeout_ms: 60000
      max_attempts: 3
  - name: deploy
    fields:
      - {name: service, type: string, required: true}
    execute:
      executor: http
      component: runner
      secret: runner_token
      timeout_ms: 5000
      max_attempts: 3
secrets:
  runner_token: env:RUNNER_TOKEN
`;
}

function setup(executorUrl = 'http://127.0.0.1:9/run') {
  const dir = tempDir();
  const db = freshDb(dir);
  const cfg = path.join(dir, 'portal.yaml');
  fs.writeFileSync(cfg, config(executorUrl));
  const r = spawnSync(bin, ['migrate', '--db', db], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { dir, db, cfg };
}

let next = 1;
function enqueue(db, kind, input) {
  const id = `p-${(next++).toString(16).padStart(16, '0')}`;
  const now = Date.now();
  const text = JSON.stringify(input).replaceAll("'", "''");
  sql(db, `INSERT INTO portal_proposals (id, kind, project, proposer, input, state, created_at, updated_at, next_attempt_at)
           VALUES ('${id}', '${kind}', 'demo', 'alice', '${text}', 'queued', ${now}, ${now}, ${now})`);
  return id;
}

function row(db, id) {
  const out = sql(db, `SELECT ${onPg ? 'json_build_object' : 'json_object'}('state', state, 'attempts', attempts, 'last_error', last_error,
                        'evidence', evidence, 'lease_owner', lease_owner) FROM portal_proposals WHERE id = '${id}'`);
  return JSON.parse(out);
}

// 'executed' is also met by what follows it: the worker's proof pass may
// take an executed proposal on to proving and proven between two looks.
const AFTER = { executed: ['executed', 'proving', 'proven'] };

async function waitState(db, id, state, ms = 5000 * slow) {
  const deadline = Date.now() + ms;
  const ok = AFTER[state] ?? [state];
  let r;
  while (Date.now() < deadline) {
    r = row(db, id);
    if (ok.includes(r.state)) return r;
    await sleep(50);
  }
  assert.fail(`${id} is ${r?.state}, not ${state} (last error: ${r?.last_error})`);
}

// Starts `portal worker`; resolves once it logs "worker started".
const started = new Set();
// A test that fails before stopping its worker would keep this file running.
after(() => { for (const c of started) c.kill('SIGKILL'); });

async function startWorker({ db, cfg }, args = [], env = {}) {
  const child = spawn(bin, ['worker', '--db', db, '--config', cfg, '--id', 'it-worker', ...args], {
    env: { PATH: process.env.PATH, RUNNER_TOKEN: TOKEN, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const w = { child, logs: [], stderr: '' };
  let partial = '';
  const waiters = [];
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    w.stderr += chunk;
    partial += chunk;
    let nl;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      let obj;
      try { obj = JSON.parse(line); } catch { continue; }
      w.logs.push(obj);
      for (const x of [...waiters]) if (x.pred(obj)) { waiters.splice(waiters.indexOf(x), 1); x.resolve(obj); }
    }
  });
  child.stdout.resume();
  started.add(child);
  w.exited = new Promise((resolve) => child.on('exit', (code, signal) => { started.delete(child); resolve({ code, signal }); }));
  w.waitLog = (pred, ms = 5000 * slow) => {
    const hit = w.logs.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no such log line within ${ms} ms:\n${w.stderr}`)), ms);
      waiters.push({ pred, resolve: (o) => { clearTimeout(t); resolve(o); } });
    });
  };
  w.stop = async (sig = 'SIGTERM') => { child.kill(sig); return w.exited; };
  await Promise.race([
    w.waitLog((l) => l.msg === 'worker started'),
    w.exited.then(({ code }) => { throw new Error(`worker exited ${code}: ${w.stderr}`); }),
  ]);
  return w;
}

test('an exec proposal is executed once with the digest of its output as evidence', async () => {
  const s = setup();
  const id = enqueue(s.db, 'restart', { service: "api $(id)" });
  const w = await startWorker(s);
  const r = await waitState(s.db, id, 'executed');
  assert.equal(r.attempts, 1);
  const ev = JSON.parse(r.evidence);
  assert.equal(ev.output, 'restarted api $(id)');
  assert.equal(ev.exit_status, 0);
  assert.equal(ev.digest, 'sha256:' + crypto.createHash('sha256').update('restarted api $(id)').digest('hex'));
  const actors = sql(s.db, onPg
    ? `SELECT string_agg(actor || ':' || from_state || '>' || to_state, ' ' ORDER BY seq) FROM portal_audit WHERE proposal = '${id}'`
    : `SELECT group_concat(actor || ':' || from_state || '>' || to_state, ' ') FROM portal_audit WHERE proposal = '${id}'`);
  const steps = actors.split(' ');
  assert.deepEqual(steps.slice(0, 2), ['worker:it-worker:queued>running', 'worker:it-worker:running>executed']);
  assert.ok(steps.slice(2).every((x) => /^worker:it-worker:(executed>proving|proving>proven)$/.test(x)), actors);
  const { code } = await w.stop();
  assert.equal(code, 0);
  assert.ok(w.logs.some((l) => l.msg === 'stopped' && l.exit_code === 0));
});

test('a command that fails on its last attempt is the dead letter, with the reason', async () => {
  const s = setup();
  const id = enqueue(s.db, 'broken', { service: 'api' });
  const w = await startWorker(s);
  const r = await waitState(s.db, id, 'failed');
  assert.equal(r.attempts, 1);
  assert.equal(r.last_error, 'the command exited with status 1');
  assert.equal((await w.stop()).code, 0);
});

test('an http proposal is posted with its id as request id and idempotency key and the bearer token', async () => {
  const seen = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: JSON.parse(body) });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"accepted":true}');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  try {
    const s = setup(`http://127.0.0.1:${port}/internal/run`);
    const id = enqueue(s.db, 'deploy', { service: 'api' });
    const w = await startWorker(s);
    const r = await waitState(s.db, id, 'executed');
    assert.equal(seen.length, 1);
    const q = seen[0];
    assert.equal(q.method, 'POST');
    assert.equal(q.url, '/internal/run');
    assert.equal(q.headers['x-request-id'], id);
    assert.equal(q.headers['idempotency-key'], id);
    assert.equal(q.headers.authorization, `Bearer ${TOKEN}`);
    assert.deepEqual(q.body, { proposal: id, kind: 'deploy', input: { service: 'api' } });
    const ev = JSON.parse(r.evidence);
    assert.equal(ev.status, 200);
    assert.equal(ev.digest, 'sha256:' + crypto.createHash('sha256').update('{"accepted":true}').digest('hex'));
    assert.equal((await w.stop()).code, 0);
    assert.ok(!w.stderr.includes(TOKEN), 'the log carries the token');
    assert.ok(!w.stderr.includes(String(port)), 'the log carries the executor address');
    assert.ok(!w.stderr.includes('/internal/run'), 'the log carries the executor path');
  } finally {
    server.close();
  }
});

test('an unreachable http executor is retried later and named without its address', async () => {
  const s = setup('http://127.0.0.1:9/internal/run');
  const id = enqueue(s.db, 'deploy', { service: 'api' });
  const w = await startWorker(s);
  await w.waitLog((l) => l.msg === 'attempt failed; will retry');
  const r = await waitState(s.db, id, 'queued');
  assert.equal(r.attempts, 1);
  assert.match(r.last_error, /^the executor of runner /);
  assert.ok(!r.last_error.includes('127.0.0.1'));
  assert.equal((await w.stop()).code, 0);
  assert.ok(!w.stderr.includes('127.0.0.1:9'));
  assert.ok(!w.stderr.includes(TOKEN));
});

test('SIGTERM gives a running attempt back to the queue after the drain timeout and exits 0', async () => {
  const s = setup();
  const id = enqueue(s.db, 'slow', { service: 'api' });
  const w = await startWorker(s, ['--drain-timeout-ms', '300']);
  await waitState(s.db, id, 'running');
  const t0 = Date.now();
  const { code } = await w.stop('SIGTERM');
  assert.equal(code, 0, w.stderr);
  assert.ok(Date.now() - t0 < 4000, `took ${Date.now() - t0} ms`);
  const r = row(s.db, id);
  assert.equal(r.state, 'queued');
  assert.ok(w.logs.some((l) => l.msg === 'stopped' && l.given_back === 1), w.stderr);
  // The program went with it.
  assert.equal(spawnSync('pgrep', ['-f', '^/bin/sleep 30$']).status, 1);
});

test('SIGHUP re-reads the secrets and the worker keeps running', async () => {
  const s = setup();
  const w = await startWorker(s);
  w.child.kill('SIGHUP');
  await w.waitLog((l) => l.msg === 'secrets re-read');
  const id = enqueue(s.db, 'restart', { service: 'web' });
  await waitState(s.db, id, 'executed');
  assert.equal((await w.stop('SIGINT')).code, 0);
});

test('a configuration without proposal kinds is refused with what to do', () => {
  const dir = tempDir();
  const r = spawnSync(bin, ['worker', '--db', freshDb(dir)], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /declares no proposal kinds/);
});

test('--concurrency out of range is refused', () => {
  const r = spawnSync(bin, ['worker', '--concurrency', '0'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--concurrency: must be between 1 and 64, got 0/);
});
