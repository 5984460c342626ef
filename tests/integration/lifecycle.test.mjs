// Process lifecycle: graceful drain, configuration reload, readiness when the
// database goes bad, refusing a port that is taken.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { startPortal, request, sanitizerReport, onPg, ruinDb, removeDb, slow } from '../lib/portal.mjs';

test('SIGTERM drains: in-flight requests complete, the store closes, exit 0', async () => {
  const portal = await startPortal({ args: ['--threads', '2'] });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  let completed = 0, failed = 0, stop = false;
  const worker = async () => {
    while (!stop) {
      try {
        const body = await new Promise((resolve, reject) => {
          http.get(`${portal.url}/`, { agent }, (res) => {
            let data = '';
            res.on('data', (c) => { data += c; });
            res.on('end', () => resolve(data));
            res.on('error', reject);
          }).on('error', reject);
        });
        // A started response is always a whole page, never cut off.
        assert.match(body, /<\/html>\n$/);
        completed++;
      } catch (e) {
        // Refused or reset before a response began: the server stopped accepting.
        if (!/ECONNREFUSED|ECONNRESET|socket hang up/.test(String(e))) failed++;
        break;
      }
    }
  };
  const workers = Array.from({ length: 8 }, worker);
  await new Promise((r) => setTimeout(r, 300));
  const exited = portal.stop('SIGTERM');
  const { code } = await exited;
  stop = true;
  await Promise.all(workers);
  agent.destroy();
  assert.equal(code, 0);
  assert.equal(failed, 0);
  assert.ok(completed > 0);
  const msgs = portal.logs.map((l) => l.msg);
  assert.ok(msgs.includes('draining'));
  assert.ok(msgs.includes('drained'));
  assert.equal(portal.logs.at(-1).msg, 'stopped');
  // A cleanly closed SQLite database in WAL mode leaves no -wal file behind.
  if (!onPg) assert.equal(fs.existsSync(`${portal.db}-wal`), false);
  assert.equal(sanitizerReport(portal), '');
});

test('SIGINT also drains and exits 0', async () => {
  const portal = await startPortal();
  assert.equal((await request(`${portal.url}/healthz`)).status, 200);
  const { code } = await portal.stop('SIGINT');
  assert.equal(code, 0);
});

test('SIGHUP applies a valid configuration and keeps the old one when the new one is invalid', async () => {
  const portal = await startPortal({ config: 'server:\n  environment: staging\n' });
  let page = await request(`${portal.url}/`);
  assert.match(page.text, /data-environment>staging</);

  await portal.reload('server:\n  environment: production-eu\nlog:\n  level: info\n');
  await portal.waitForLog((l) => l.msg === 'configuration reloaded');
  page = await request(`${portal.url}/`);
  assert.match(page.text, /data-environment>production-eu</);

  await portal.reload('server:\n  environment: broken\n  threads: lots\n');
  const failure = await portal.waitForLog((l) => l.msg?.startsWith('configuration reload failed'));
  assert.equal(failure.level, 'error');
  assert.ok(failure.errors.some((e) => /portal\.yaml:3:\d+: server\.threads/.test(e)), JSON.stringify(failure.errors));
  page = await request(`${portal.url}/`);
  assert.match(page.text, /data-environment>production-eu</, 'the running configuration is kept');

  const metrics = await request(`${portal.url}/metrics`);
  assert.match(metrics.text, /portal_config_reloads_total\{result="success"\} 1/);
  assert.match(metrics.text, /portal_config_reloads_total\{result="failure"\} 1/);
  assert.equal((await portal.stop()).code, 0);
});

test('a reload that changes a start-up setting keeps it and says a restart is needed', async () => {
  const portal = await startPortal({ config: 'server:\n  max_body_bytes: 2048\n' });
  await portal.reload('server:\n  max_body_bytes: 4096\n');
  const warn = await portal.waitForLog((l) => l.msg === 'setting needs a restart to take effect');
  assert.equal(warn.key, 'server.max_body_bytes');
  assert.equal((await portal.stop()).code, 0);
});

// On PostgreSQL the schema is renamed away: the portal then finds no schema.
test('readiness turns 503 with the reason when the database is ruined, and back when restored', async () => {
  const portal = await startPortal({ args: ['--ready-interval-ms', '100'] });
  try {
    assert.equal((await request(`${portal.url}/readyz`)).status, 200);
    const restore = ruinDb(portal.db);
    const deadline = Date.now() + 5000 * slow;
    let r;
    do {
      await new Promise((res) => setTimeout(res, 100));
      r = await request(`${portal.url}/readyz`);
    } while (r.status === 200 && Date.now() < deadline);
    assert.equal(r.status, 503);
    assert.equal(r.json.status, 'not_ready');
    assert.equal(r.json.checks.store.status, 'not_ready');
    assert.equal(r.json.error.code, 'unavailable');
    assert.equal(r.json.error.field, 'store');
    assert.match(r.json.error.message, onPg ? /schema version 0, this portal needs \d+/ : /not a database|unreadable/);
    const where = onPg ? new URL(portal.db).host : portal.db;
    assert.ok(!r.text.includes(where), `the public probe names no database location: ${r.text}`);
    const metrics = await request(`${portal.url}/metrics`);
    assert.match(metrics.text, /^portal_store_ready 0$/m);
    // The liveness probe is not readiness: the process still answers.
    assert.equal((await request(`${portal.url}/healthz`)).status, 200);

    restore();
    const back = Date.now() + 5000 * slow;
    do {
      await new Promise((res) => setTimeout(res, 100));
      r = await request(`${portal.url}/readyz`);
    } while (r.status !== 200 && Date.now() < back);
    assert.equal(r.status, 200);
  } finally {
    await portal.stop();
  }
});

// On PostgreSQL the schema is dropped.
test('readiness is 503 when the database disappears', async () => {
  const portal = await startPortal({ args: ['--ready-interval-ms', '100'] });
  try {
    removeDb(portal.db);
    const deadline = Date.now() + 5000 * slow;
    let r;
    do {
      await new Promise((res) => setTimeout(res, 100));
      r = await request(`${portal.url}/readyz`);
    } while (r.status === 200 && Date.now() < deadline);
    assert.equal(r.status, 503);
    assert.match(r.json.error.message, onPg ? /schema version 0, this portal needs \d+/ : /cannot be opened|unable to open/);
    assert.ok(!r.text.includes(onPg ? new URL(portal.db).host : portal.db), r.text);
  } finally {
    await portal.stop();
  }
});

test('a port that is already taken is refused with a clear message', async () => {
  const first = await startPortal();
  const second = await startPortal({ args: ['--listen', `127.0.0.1:${first.port}`] }).then(
    (p) => ({ started: p }), (e) => ({ error: e }));
  if (second.started) await second.started.stop();
  assert.ok(second.error, 'the second server must not start');
  assert.match(String(second.error.message ?? second.error), /cannot listen on 127\.0\.0\.1:\d+: Address already in use/);
  await first.stop();
});
