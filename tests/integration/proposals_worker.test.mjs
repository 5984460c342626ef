// The worker: a request never runs an executor (a slow one shows the
// submission answered before execution begins); a worker killed mid-run
// loses its lease and another finishes, with the side effect done once per
// idempotency key; the last failed attempt lands in the dead letter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startPortal, startWorker, request, login, addUser, sanitizerReport, slow } from '../lib/portal.mjs';

const PW = 'worker-password-12';

async function setup(config) {
  const portal = await startPortal({ config, args: ['--ready-interval-ms', '200'] });
  addUser(portal.db, 'olga', 'operator', PW);
  addUser(portal.db, 'abe', 'approver', PW);
  const [olga, abe] = await Promise.all([login(portal.url, 'olga', PW), login(portal.url, 'abe', PW)]);
  const post = (s, path, body, extra = {}) => request(`${portal.url}${path}`, {
    method: 'POST', headers: { Cookie: s.cookie, 'X-CSRF-Token': s.csrf, 'Content-Type': 'application/json', ...extra },
    body: JSON.stringify(body),
  });
  const propose = async (kind, input) => {
    const p = (await post(olga, '/api/v1/proposals', { kind, project: 'atlas', input })).json.proposal;
    const a = await post(abe, `/api/v1/proposals/${p.id}/approve`, {});
    assert.equal(a.status, 200);
    return a.json.proposal;
  };
  const get = async (id) => (await request(`${portal.url}/api/v1/proposals/${id}`)).json.proposal;
  // Polls until the proposal is in state (or one of an array of states).
  const until = async (id, state, ms = 15000) => {
    const states = [state].flat();
    const deadline = Date.now() + ms * slow;
    let p;
    do {
      p = await get(id);
      if (!states.includes(p.state)) await new Promise((r) => setTimeout(r, 100));
    } while (!states.includes(p.state) && Date.now() < deadline);
    assert.ok(states.includes(p.state), `${p.state}, not ${states.join(' or ')}: ${JSON.stringify(p)}`);
    return p;
  };
  // The worker's prover may carry an executed proposal on to proving and
  // proven between two polls.
  const EXECUTED = ['executed', 'proving', 'proven'];
  return { portal, propose, get, until, EXECUTED };
}

test('a slow executor: submission and approval are answered before execution begins', async () => {
  const { portal, propose, get, until, EXECUTED } = await setup(`
projects:
  - name: atlas
proposals:
  - name: slow
    propose: operator
    fields: [{name: secs, type: integer, min: 1, max: 5, required: true}]
    execute: {executor: exec, argv: ["/bin/sleep", "{secs}"], timeout_ms: 10000}
`);
  let worker;
  try {
    const t0 = Date.now();
    const p = await propose('slow', { secs: 2 });
    assert.ok(Date.now() - t0 < 2000, 'answered without waiting for the executor');
    assert.equal(p.state, 'queued');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await get(p.id)).state, 'queued', 'nothing runs it but a worker');
    worker = await startWorker(portal, ['--concurrency', '1']);
    await until(p.id, 'running', 5000);
    const done = await until(p.id, EXECUTED, 10000);
    assert.equal(done.evidence.exit_status, 0);
    assert.match(done.evidence.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(done.attempts, 1);
    assert.equal((await worker.stop()).code, 0);
  } finally {
    await worker?.stop();
    await portal.stop();
    assert.equal(sanitizerReport(portal), '');
  }
});

test('the last failed attempt is a dead letter with its reason', async () => {
  const { portal, propose, until } = await setup(`
projects:
  - name: atlas
proposals:
  - name: broken
    propose: operator
    execute: {executor: exec, argv: ["/bin/false"], timeout_ms: 5000, max_attempts: 2}
`);
  const worker = await startWorker(portal);
  try {
    const p = await propose('broken', {});
    const failed = await until(p.id, 'failed', 20000);
    assert.equal(failed.attempts, 2);
    assert.match(failed.last_error, /exited with status 1/);
    const audit = (await (await fetch(`${portal.url}/api/v1/proposals/${p.id}`, { headers: { Cookie: portal.session.cookie } })).json()).proposal.audit;
    assert.deepEqual(audit.map((a) => a.to), ['submitted', 'approved', 'queued', 'running', 'queued', 'running', 'failed']);
  } finally {
    await worker.stop();
    await portal.stop();
  }
});

test('kill -9 of a worker mid-execution: the lease expires, another worker finishes, the side effect runs once', async () => {
  const seen = [];
  const done = new Set();
  let firstArrived;
  const arrived = new Promise((r) => { firstArrived = r; });
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST') { res.writeHead(200); res.end('{"ok":true}'); return; }
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const key = req.headers['idempotency-key'];
      seen.push({ key, requestId: req.headers['x-request-id'], auth: req.headers.authorization, body: JSON.parse(body) });
      if (seen.length === 1) { firstArrived(); return; } // the first never answers: its worker dies
      done.add(key); // the side effect, once per key
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ done: true }));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  const { portal, propose, until, EXECUTED } = await setup(`
components:
  - name: runner
    ownership: owned
    internal_url: http://127.0.0.1:${port}
    executor_url: http://127.0.0.1:${port}/run
    health: {path: /}
projects:
  - name: atlas
proposals:
  - name: remote
    propose: operator
    fields: [{name: what, type: string, required: true}]
    execute: {executor: http, component: runner, timeout_ms: 1000, max_attempts: 3}
`);
  let b;
  try {
    const a = await startWorker(portal, ['--id', 'worker-a', '--lease-slack-ms', '500']);
    const p = await propose('remote', { what: 'rotate' });
    await arrived;
    a.process.kill('SIGKILL');
    await a.exited;
    b = await startWorker(portal, ['--id', 'worker-b', '--lease-slack-ms', '500']);
    const fin = await until(p.id, EXECUTED, 20000);
    assert.ok(seen.length >= 2, 'the second worker called again');
    assert.ok(seen.every((s) => s.key === p.id && s.requestId === p.id), 'the proposal id is the idempotency key and request id');
    assert.equal(done.size, 1, 'the side effect ran once for the key');
    assert.deepEqual(seen[0].body.input, { what: 'rotate' });
    const audit = (await (await fetch(`${portal.url}/api/v1/proposals/${p.id}`, { headers: { Cookie: portal.session.cookie } })).json()).proposal.audit;
    const actors = audit.map((x) => `${x.to}:${x.actor}`);
    assert.ok(actors.includes('running:worker:worker-a') && actors.includes('running:worker:worker-b'), actors.join(' '));
    assert.ok(actors.includes('queued:lease-expired'), actors.join(' '));
    assert.equal(fin.evidence.executor, 'http');
  } finally {
    if (b) await b.stop();
    await portal.stop();
    server.closeAllConnections(); // the first request, whose worker died, is still open
    server.close();
  }
});

test('a proposal whose worker dies on its last attempt is a dead letter, not run again', async () => {
  const { portal, propose, until } = await setup(`
projects:
  - name: atlas
proposals:
  - name: fatal
    propose: operator
    execute: {executor: exec, argv: ["/bin/sleep", "30"], timeout_ms: 4000, max_attempts: 1}
`);
  let b;
  try {
    const a = await startWorker(portal, ['--id', 'worker-a', '--lease-slack-ms', '300']);
    const p = await propose('fatal', {});
    await until(p.id, 'running', 3000);
    a.process.kill('SIGKILL');
    await a.exited;
    b = await startWorker(portal, ['--id', 'worker-b', '--lease-slack-ms', '300']);
    const failed = await until(p.id, 'failed', 20000);
    assert.match(failed.last_error, /attempt 1 of 1 ended with its worker gone/);
    const audit = (await request(`${portal.url}/api/v1/proposals/${p.id}`)).json.proposal.audit;
    assert.deepEqual(audit.map((x) => `${x.to}:${x.actor}`).slice(3),
      ['running:worker:worker-a', 'queued:lease-expired', 'running:worker:worker-b', 'failed:worker:worker-b']);
    assert.ok(!b.logs.some((l) => l.msg === 'attempt started'), 'worker-b did not run the command again');
  } finally {
    await b?.stop();
    await portal.stop();
    assert.equal(sanitizerReport(portal), '');
  }
});
