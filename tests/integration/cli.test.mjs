// The command line: help, version, check, migrate, and option precedence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPortal, request, binPath, freshDb, dbSql, SYNC_MS } from '../lib/portal.mjs';

const bin = binPath();
const run = (args, opts = {}) => spawnSync(bin, args, { encoding: 'utf8', timeout: SYNC_MS, ...opts });
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'portal-cli-'));

test('--help lists exactly the working commands', () => {
  const r = run(['--help']);
  assert.equal(r.status, 0);
  const listed = r.stdout.split('\n').filter((l) => /^  [a-z]+ /.test(l)).map((l) => l.trim().split(/\s+/)[0]);
  assert.deepEqual(listed.sort(), ['check', 'demo', 'emit', 'migrate', 'replay', 'serve', 'token', 'user', 'worker']);
  for (const c of listed) {
    const h = run([c, '--help']);
    assert.equal(h.status, 0, `${c} --help`);
    assert.match(h.stdout, new RegExp(`^usage: portal ${c}`), `${c} --help`);
  }
});

test('--version prints the version', () => {
  const r = run(['--version']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^portal \d+\.\d+\.\d+ \(/);
});

test('each command explains its options with --help', () => {
  for (const c of ['serve', 'migrate', 'check']) {
    const r = run([c, '--help']);
    assert.equal(r.status, 0, c);
    assert.match(r.stdout, new RegExp(`usage: portal ${c}`));
    assert.match(r.stdout, /--config/);
  }
  assert.match(run(['serve', '--help']).stdout, /--listen .*PORTAL_LISTEN/);
});

// The setting flags a command's --help lists: "  --flag VALUE  help (env VAR, default D)".
const settingFlags = (c) => {
  const r = run([c, '--help']);
  assert.equal(r.status, 0, `${c} --help`);
  return new Map(r.stdout.split('\n').filter((l) => /\(env PORTAL_[A-Z_]+, default /.test(l))
    .map((l) => [l.trim().split(/\s+/)[0], l.match(/\(env PORTAL_[A-Z_]+, default (.*)\)$/)[1]]));
};

test('check --help lists every flag that serve --help and worker --help list', () => {
  const check = settingFlags('check');
  for (const c of ['serve', 'worker']) {
    const flags = settingFlags(c);
    assert.ok(flags.size > 0, c);
    for (const f of flags.keys()) assert.ok(check.has(f), `check --help lacks ${f} of ${c}`);
  }
  assert.ok(check.has('--proof-graph') && check.has('--listen') && check.has('--datahub-component'));
  assert.ok(check.has('--concurrency') && check.has('--id') && check.has('--lease-slack-ms'));
});

test('check accepts every flag that serve or worker accepts', () => {
  const flags = new Map([...settingFlags('serve'), ...settingFlags('worker')]);
  for (const [f, def] of flags) {
    const r = run(['check', `${f}=${def === 'none' ? '' : def}`], { env: { PATH: process.env.PATH } });
    assert.equal(r.status, 0, `check ${f}=${def}: ${r.stderr}`);
  }
  const r = run(['check', '--proof-graph', 'embedded'], { env: { PATH: process.env.PATH } });
  assert.equal(r.status, 0, r.stderr);
});

test('an unknown command or option exits 2 and says what was wrong', () => {
  let r = run(['frobnicate']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
  r = run(['serve', '--no-such-flag', 'x']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown option '--no-such-flag'/);
});

test('check accepts a valid file with a one-line summary', () => {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'portal.yaml'), 'server:\n  listen: 127.0.0.1:9999\nlog:\n  level: debug\n');
  const r = run(['check', '--config', path.join(dir, 'portal.yaml')]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 1);
  assert.match(r.stdout, /valid/);
});

test('check lists every error with file:line:column and the key, and exits 1', () => {
  const dir = tmp();
  const file = path.join(dir, 'portal.yaml');
  fs.writeFileSync(file, 'server:\n  listn: 127.0.0.1:1\n  threads: many\nstore:\n  busy_timeout_ms: -5\n');
  const r = run(['check', '--config', file]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /portal\.yaml:2:3: server\.listn: .*unknown.*listen/);
  assert.match(r.stderr, /portal\.yaml:3:\d+: server\.threads: /);
  assert.match(r.stderr, /portal\.yaml:5:\d+: store\.busy_timeout_ms: /);
});

test('the example configuration is valid, and check names every missing secret with its component', () => {
  const r = run(['check', '--config', path.resolve('config/portal.example.yaml')], { env: { PATH: process.env.PATH } });
  assert.match(r.stdout, /valid .*\d+ components \(\d+ owned, \d+ endpoints\)/);
  assert.equal(r.status, 1, 'secrets are not available on this machine');
  assert.match(r.stderr, /^secret temporal_token: missing \(env TEMPORAL_TOKEN is not set\); needed by temporal, proposal kind run-workflow$/m);
  assert.match(r.stderr, /^secret datahub_token: unreadable .*needed by datahub$/m);
});

test('a secret a proof plane or a proposal kind needs counts as needed; one only a project lists does not', () => {
  const dir = tmp();
  const file = path.join(dir, 'portal.yaml');
  fs.writeFileSync(file, `
components:
  - {name: clickhouse, ownership: endpoint, internal_url: "http://127.0.0.1:8123", health: {path: /ping}}
  - {name: runner, ownership: owned, internal_url: "http://127.0.0.1:9", executor_url: "http://127.0.0.1:9/run", health: {path: /}}
projects:
  - {name: atlas, secrets: [deploy_key]}
secrets:
  ch_key: env:PORTAL_TEST_CH_KEY
  runner_token: env:PORTAL_TEST_RUNNER_TOKEN
  deploy_key: env:PORTAL_TEST_DEPLOY_KEY
proof:
  warehouse: clickhouse
  warehouse_component: clickhouse
  warehouse_secret: ch_key
proposals:
  - name: remote
    execute: {executor: http, component: runner, secret: runner_token}
`);
  let r = run(['check', '--config', file], { env: { PATH: process.env.PATH } });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^secret ch_key: missing .*; needed by proof\.warehouse_secret$/m);
  assert.match(r.stderr, /^secret runner_token: missing .*; needed by proposal kind remote$/m);
  assert.match(r.stderr, /^secret deploy_key: missing .*; not needed by anything$/m);
  assert.match(r.stderr, /2 needed secrets missing/);
  r = run(['check', '--config', file], { env: { PATH: process.env.PATH, PORTAL_TEST_CH_KEY: 'k', PORTAL_TEST_RUNNER_TOKEN: 't' } });
  assert.equal(r.status, 0, r.stderr);
});

test('with every secret present (env, file and a KV v2 vault) the example checks clean', async () => {
  const dir = tmp();
  const vault = http.createServer((req, res) => {
    if (req.headers['x-vault-token'] !== 'vault-root-token') { res.writeHead(403); return res.end('{"errors":["permission denied"]}'); }
    const m = /^\/v1\/secret\/data\/portal\/(\w+)$/.exec(req.url);
    const values = { hasura: { admin_secret: 'h-1' }, daytona: { api_key: 'd-1' }, datahub: { token: 'dh-1' } };
    if (!m || !values[m[1]]) { res.writeHead(404); return res.end('{"errors":[]}'); }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ data: { data: values[m[1]], metadata: { version: 1 } } }));
  });
  await new Promise((ok) => vault.listen(0, '127.0.0.1', ok));
  let text = fs.readFileSync('config/portal.example.yaml', 'utf8');
  for (const f of ['runtime-token', 'clickhouse-password', 'vault-token']) {
    fs.writeFileSync(path.join(dir, f), f === 'vault-token' ? 'vault-root-token\n' : `value-of-${f}\n`);
    text = text.replaceAll(`file:/run/secrets/${f}`, `file:${path.join(dir, f)}`);
  }
  text = text.replace('addr: http://127.0.0.1:8200', `addr: http://127.0.0.1:${vault.address().port}`);
  fs.writeFileSync(path.join(dir, 'portal.yaml'), text);
  const out = await new Promise((ok) => {
    const child = spawn(bin, ['check', '--config', path.join(dir, 'portal.yaml')], {
      env: { PATH: process.env.PATH, PORTAL_API_TOKEN: 'a-1', TEMPORAL_TOKEN: 't-1' },
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('exit', (status) => ok({ status, stdout, stderr }));
  });
  vault.close();
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stdout, /valid/);
  for (const v of ['a-1', 't-1', 'h-1', 'd-1', 'dh-1', 'vault-root-token']) assert.ok(!out.stdout.includes(v) && !out.stderr.includes(v), 'no secret value is printed');
});

test('migrate applies the schema once, then reports it current', () => {
  const db = freshDb(tmp());
  let r = run(['migrate', '--db', db]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /migrated from schema version 0 to \d+/);
  r = run(['migrate', '--db', db]);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /up to date at version \d+/);
});

test('a database newer than the binary is refused by migrate and by serve', async () => {
  const db = freshDb(tmp());
  assert.equal(run(['migrate', '--db', db]).status, 0);
  dbSql(db, "INSERT INTO schema_migrations(version, name, applied_at) VALUES (9999, '9999_future.sql', 0)");
  const r = run(['migrate', '--db', db]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /9999.*newer than this portal/);
  await assert.rejects(startPortal({ db }), /newer than this portal/);
});

test('a flag wins over the environment, which wins over the file', async () => {
  const config = 'server:\n  environment: from-file\n';
  let p = await startPortal({ config });
  assert.match((await request(`${p.url}/`)).text, /data-environment>from-file</);
  await p.stop();
  p = await startPortal({ config, env: { PORTAL_ENVIRONMENT: 'from-env' } });
  assert.match((await request(`${p.url}/`)).text, /data-environment>from-env</);
  await p.stop();
  p = await startPortal({ config, env: { PORTAL_ENVIRONMENT: 'from-env' }, args: ['--environment', 'from-flag'] });
  assert.match((await request(`${p.url}/`)).text, /data-environment>from-flag</);
  await p.stop();
});

test('serve refuses an invalid configuration before listening', () => {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'portal.yaml'), 'log:\n  level: loud\n');
  const r = run(['serve', '--listen', '127.0.0.1:0', '--db', path.join(dir, 'p.db'), '--config', path.join(dir, 'portal.yaml')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /portal\.yaml:2:\d+: log\.level: /);
});
