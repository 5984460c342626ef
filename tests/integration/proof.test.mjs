// Proof closure end to end: the worker records an executed proposal in the
// proof planes and proves it only when graph, warehouse and evidence agree.
// With an evidence service (docs/proof-planes.md) that is down the closure
// stays open and says which plane; with one that disagrees it is
// contradicted with both digests; /proof lists what is still waiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startWorker, request, sanitizerReport } from '../lib/portal.mjs';
import { KINDS } from '../lib/kinds.mjs';
import { proofSetup } from '../lib/proofs.mjs';

const PW = 'proof-password-123';

function setup(extra = '') {
  return proofSetup(KINDS + extra, PW);
}

test('an executed proposal is recorded in the embedded planes and proven when they agree', async () => {
  const { portal, olga, propose, until } = await setup();
  const worker = await startWorker(portal);
  try {
    const id = await propose();
    const p = await until(id, (x) => x.state === 'proven', 'proven');
    assert.equal(p.closure.state, 'closed');
    const planes = p.closure.joins.map((j) => `${j.plane}:${j.state}`);
    assert.deepEqual(planes, ['graph:met', 'graph:met', 'graph:met', 'graph:met',
      'warehouse:met', 'warehouse:met', 'warehouse:met', 'evidence:met']);
    const steps = p.audit.map((a) => a.to);
    assert.deepEqual(steps.slice(-3), ['executed', 'proving', 'proven']);
    assert.match(p.audit.at(-1).actor, /^worker:/, 'the worker proved it');
    // what the worker wrote is in the store's plane tables, digest and all
    const page = await request(`${portal.url}/proposals/${id}`, { headers: { Cookie: olga.cookie } });
    assert.match(page.text, /data-closure="closed"/);
    // the chain names what answered: Portal's own tables, not a product they stand in for
    assert.match(page.text, /<h3>graph — embedded \(Portal's own store\)<\/h3>/);
    assert.match(page.text, /<h3>warehouse — embedded \(Portal's own store\)<\/h3>/);
    assert.ok(!page.text.includes('ClickHouse'), 'no ClickHouse claimed when the embedded warehouse answers');
    const proof = await request(`${portal.url}/proof`, { headers: { Cookie: olga.cookie } });
    assert.match(proof.text, /id="embedded-only"[^>]*>Every plane is embedded/);
    assert.match(page.text, /evidence of [^<]*:output/);
  } finally {
    await worker.stop();
    const { code } = await portal.stop();
    assert.equal(code, 0);
    assert.equal(sanitizerReport(portal), '');
  }
});

// An evidence service after docs/proof-planes.md, in memory. mode: 'down'
// answers 503 to reads; 'tamper' answers every record with another digest.
function evidenceService() {
  const records = new Map();
  const svc = { mode: 'ok', records, puts: 0 };
  svc.server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const send = (status, body) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/healthz') return send(200, { ok: true });
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (req.method === 'PUT' && url.pathname.startsWith('/evidence/')) {
        const rec = JSON.parse(body);
        svc.puts++;
        const id = decodeURIComponent(url.pathname.slice('/evidence/'.length));
        if (id !== rec.id) return send(400, { error: { message: 'id differs' } });
        const old = records.get(id);
        if (old) return send(JSON.stringify(old) === JSON.stringify(rec) ? 200 : 409, {});
        records.set(id, rec);
        return send(201, {});
      }
      if (req.method === 'GET' && url.pathname === '/evidence') {
        if (svc.mode === 'down') return send(503, { error: { message: 'chronicle is restarting' } });
        const proposal = url.searchParams.get('proposal');
        const out = [...records.values()].filter((r) => r.proposal === proposal)
          .map((r) => (svc.mode === 'tamper' ? { ...r, digest: `sha256:${'0'.repeat(64)}` } : r));
        return send(200, { records: out });
      }
      send(404, { error: 'no such route' });
    });
  });
  return new Promise((r) => svc.server.listen(0, '127.0.0.1', () => {
    svc.port = svc.server.address().port;
    r(svc);
  }));
}

const remoteEvidence = (port) => `
components:
  - name: chronicle
    ownership: owned
    internal_url: http://127.0.0.1:${port}
    health: {path: /healthz}
proof:
  evidence: http
  evidence_component: chronicle
`;

test('an evidence service that is down leaves the closure open, naming the plane, until it answers', async () => {
  const svc = await evidenceService();
  svc.mode = 'down';
  const { portal, olga, propose, until } = await setup(remoteEvidence(svc.port));
  const worker = await startWorker(portal);
  try {
    const id = await propose();
    const open = await until(id, (x) => x.closure?.state === 'open', 'open');
    assert.equal(open.state, 'proving');
    const unmet = open.closure.joins.filter((j) => j.state !== 'met');
    assert.deepEqual(unmet.map((j) => `${j.plane}:${j.state}`), ['evidence:unreachable']);
    assert.match(unmet[0].what, /evidence service answered HTTP 503: chronicle is restarting/);
    assert.ok(!JSON.stringify(open).includes(`127.0.0.1:${svc.port}`), 'no internal URL reaches the API');
    assert.equal(svc.puts, 1, 'the record was written to the service');

    const proof = await request(`${portal.url}/proof`, { headers: { Cookie: olga.cookie } });
    assert.equal(proof.status, 200);
    assert.match(proof.text, new RegExp(`data-proposal="${id}"`));
    assert.match(proof.text, /evidence: the evidence records: [^<]*\(unreachable\)/);
    assert.ok(!proof.text.includes(`127.0.0.1:${svc.port}`));
    // a plane that cannot be read is a stall: the plane, why and since when
    assert.match(open.last_error, /^evidence plane: the evidence service answered HTTP 503: chronicle is restarting$/);
    assert.match(proof.text, /<div class="stall" data-plane="evidence">Waiting on the evidence plane since <time/);
    const page = await request(`${portal.url}/proposals/${id}`, { headers: { Cookie: olga.cookie } });
    assert.match(page.text, /<p class="stall" data-plane="evidence">Waiting on the evidence plane since /);
    assert.match(page.text, /<h3>evidence — http \(chronicle\)<\/h3>/);
    assert.ok(!proof.text.includes('id="embedded-only"'));

    svc.mode = 'ok';
    const proven = await until(id, (x) => x.state === 'proven', 'proven once the service answers');
    assert.equal(proven.closure.state, 'closed');
    assert.equal(proven.last_error, null, 'the stall clears when the plane answers');
  } finally {
    await worker.stop();
    await portal.stop();
    svc.server.close();
  }
});

test('evidence whose digest differs from the warehouse is contradicted with both values', async () => {
  const svc = await evidenceService();
  svc.mode = 'tamper';
  const { portal, olga, propose, until } = await setup(remoteEvidence(svc.port));
  const worker = await startWorker(portal);
  try {
    const id = await propose();
    const p = await until(id, (x) => x.closure?.state === 'contradicted', 'contradicted');
    assert.equal(p.state, 'proving', 'a contradiction is never proven');
    const bad = p.closure.joins.find((j) => j.state === 'contradicted');
    assert.equal(bad.plane, 'evidence');
    assert.equal(bad.expected, p.evidence.digest, 'the warehouse has the digest of the output');
    assert.equal(bad.found, `sha256:${'0'.repeat(64)}`);
    const page = await request(`${portal.url}/proposals/${id}`, { headers: { Cookie: olga.cookie } });
    assert.match(page.text, /data-closure="contradicted"/);
    assert.ok(page.text.includes(p.evidence.digest) && page.text.includes('0'.repeat(64)));
  } finally {
    await worker.stop();
    await portal.stop();
    svc.server.close();
  }
});
