// A proof plane that goes away is visible, and its return is proof: with a
// real clickhouse-server as the warehouse plane, a proposal executed while
// the server is down waits at executed with the plane, the error and since
// when on /proof, on its page, as its last_error and in /metrics; the worker
// says so once, not per pass; once the server is back the stall clears and
// the proposal is proven. The chain names what answers each plane.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { startWorker, request, sanitizerReport, slow, tempDir, waitUntil } from '../lib/portal.mjs';
import { KINDS } from '../lib/kinds.mjs';
import { proofSetup } from '../lib/proofs.mjs';

const PW = 'stall-password-123';

function findClickhouse() {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin']) {
    const p = path.join(dir, 'clickhouse-server');
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch { /* next */ }
  }
  return null;
}
const CLICKHOUSE = process.env.PORTAL_CLICKHOUSE_SERVER || findClickhouse();

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// A clickhouse-server on loopback with its own configuration and data under
// a temporary directory, as tests/unit/test_clickhouse.c starts one; only
// its HTTP port. stop() kills it (an outage), start() brings it back on the
// same port and data.
async function clickhouse() {
  const dir = tempDir();
  for (const d of ['log', 'data', 'tmp', 'user_files', 'format_schemas']) fs.mkdirSync(path.join(dir, d));
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'config.xml'), `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/log/server.log</log><errorlog>${dir}/log/error.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${port}</http_port>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
</yandex>
`);
  fs.writeFileSync(path.join(dir, 'users.xml'), `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <quotas><default></default></quotas>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
</yandex>
`);
  const ch = { port, dir, child: null };
  ch.start = async () => {
    const out = fs.openSync(path.join(dir, 'server.out'), 'a');
    ch.child = spawn(CLICKHOUSE, [`--config-file=${dir}/config.xml`], { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    const child = ch.child;
    await waitUntil('clickhouse-server answering /ping', 30000, async () => {
      if (child.exitCode !== null) throw new Error(`clickhouse-server exited: ${fs.readFileSync(path.join(dir, 'server.out'), 'utf8').slice(-1200)}`);
      try { return (await request(`http://127.0.0.1:${port}/ping`)).status === 200; } catch { return false; }
    }, { every: 200 });
  };
  ch.stop = async () => {
    const child = ch.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await gone;
  };
  ch.remove = () => fs.rmSync(dir, { recursive: true, force: true });
  await ch.start();
  return ch;
}

const remoteWarehouse = (port) => `
components:
  - name: clickhouse
    title: Analytics ClickHouse
    ownership: endpoint
    internal_url: http://127.0.0.1:${port}
    health: {path: /ping}
proof:
  warehouse: clickhouse
  warehouse_component: clickhouse
`;

function setup(extra) {
  return proofSetup(KINDS + extra, PW).then((s) => ({ ...s, until: (id, ok, what, ms = 20000) => s.until(id, ok, what, ms) }));
}

const stallLines = (worker) => worker.logs.filter((l) => JSON.stringify(l).includes('a proposal waits on a proof plane'));

test('a warehouse that goes down in the middle of proof is listed as a stall until it returns, then the proposal is proven',
  { skip: CLICKHOUSE ? false : 'clickhouse-server is not installed: `scripts/deps.sh test` installs it' }, async () => {
    const ch = await clickhouse();
    const { portal, propose, page, get, until } = await setup(remoteWarehouse(ch.port));
    const worker = await startWorker(portal);
    try {
      // with ClickHouse up, a proposal is proven and the chain names ClickHouse
      const first = await propose();
      await until(first, (x) => x.state === 'proven', 'proven while ClickHouse answers');
      const proven = await page(`/proposals/${first}`);
      assert.match(proven, /<h3>warehouse — ClickHouse \(Analytics ClickHouse\)<\/h3>/);
      assert.match(proven, /<h3>graph — embedded \(Portal's own store\)<\/h3>/);
      assert.match(proven, /<h3>evidence — embedded \(Portal's own store\)<\/h3>/);
      assert.ok(!(await page('/proof')).includes('id="embedded-only"'), 'not every plane is embedded');

      // the warehouse goes away; the next proposal waits on it, visibly
      await ch.stop();
      const id = await propose();
      const stalled = await until(id, (x) => /^warehouse plane: /.test(x.last_error ?? ''), 'a warehouse stall kept as last_error');
      assert.equal(stalled.state, 'executed');
      assert.match(stalled.last_error, /^warehouse plane: the warehouse did not answer/, 'the plane client words the error');
      const since = stalled.updated_at;

      const proof = await page('/proof');
      const row = proof.slice(proof.indexOf(`data-proposal="${id}"`));
      assert.ok(proof.includes(`data-proposal="${id}"`), '/proof lists the stalled proposal');
      assert.match(row, /^[^]*?<div class="stall" data-plane="warehouse">Waiting on the warehouse plane since <time[^>]*>[^<]+<\/time>: the warehouse did not answer/);
      assert.ok(!proof.includes('No proposal is waiting for proof'));
      const detail = await page(`/proposals/${id}`);
      assert.match(detail, /<p class="stall" data-plane="warehouse">Waiting on the warehouse plane since /);
      for (const text of [proof, detail, JSON.stringify(stalled)]) {
        assert.ok(!text.includes(`127.0.0.1:${ch.port}`) && !text.includes(`:${ch.port}`), 'no internal address reaches a reader');
      }
      const metrics = (await request(`${portal.url}/metrics`)).text;
      assert.match(metrics, /^# TYPE portal_proof_stalled_proposals gauge$/m);
      assert.match(metrics, /^portal_proof_stalled_proposals\{plane="warehouse"\} 1$/m);
      assert.match(metrics, /^portal_proof_stalled_proposals\{plane="graph"\} 0$/m);

      // the worker says it once, not twice a second; since stays put
      await new Promise((r) => setTimeout(r, 3000 * slow));
      const lines = stallLines(worker);
      assert.equal(lines.length, 1, `one line for the stall over 3 s: ${JSON.stringify(lines)}`);
      assert.ok(!JSON.stringify(worker.logs).includes(`:${ch.port}`), 'no internal address in the log');
      assert.equal((await get(id)).updated_at, since, 'since when does not move while the stall lasts');

      // the warehouse returns: the stall clears and the proposal is proven
      await ch.start();
      const done = await until(id, (x) => x.state === 'proven', 'proven once ClickHouse is back', 40000);
      assert.equal(done.last_error, null, 'the stall is cleared');
      const after = await page('/proof');
      assert.ok(!after.includes(`data-proposal="${id}"`), '/proof no longer lists it');
      assert.match((await request(`${portal.url}/metrics`)).text, /^portal_proof_stalled_proposals\{plane="warehouse"\} 0$/m);
      assert.ok(worker.logs.some((l) => JSON.stringify(l).includes('a proof plane answers again')), 'the log says the wait ended');
      assert.equal(stallLines(worker).length, 1);
    } finally {
      await worker.stop();
      await ch.stop();
      ch.remove();
      const { code } = await portal.stop();
      assert.equal(code, 0);
      assert.equal(sanitizerReport(portal), '');
    }
  });
