// What a producer may write: never a type or an id that only Portal writes
// (health.changed, proposal.transitioned, ids starting probe- or proposal:),
// and always under its token's name as the source.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { startPortal, request, sanitizerReport, tempDir, freshDb, dbSql, createToken, waitUntil, binPath, SYNC_MS } from '../lib/portal.mjs';

let portal, token, limited, wide;

function cli(...args) {
  return execFileSync(binPath(), args, { encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: SYNC_MS, stdio: ['ignore', 'pipe', 'pipe'] });
}

const CONFIG = `
components:
  - name: api
    title: FractalOps API
    ownership: owned
    public_url: https://api.example.org/docs
    internal_url: http://127.0.0.2:1
    health: {path: /health, expect_status: 200, interval_ms: 200, timeout_ms: 150, slow_ms: 150}
projects:
  - name: atlas
    title: Atlas
    components: [api]
proposals:
  - name: note
    title: A note
    propose: operator
    approve: operator
    self_approval: true
    fields:
      - {name: text, type: string, max_len: 200}
    execute:
      executor: exec
      argv: ["/bin/echo", "{text}"]
`;

function post(body, auth = token) {
  return request(`${portal.url}/api/v1/events`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${auth}` },
    body: JSON.stringify(body),
  });
}

const session = (id, extra = {}) => ({ id, type: 'session.started', project: 'atlas', session: `s-${id}`, ...extra });
const stored = (id) => dbSql(portal.db, `SELECT count(*) FROM portal_live_events WHERE id = '${id}'`) !== '0';
const apiHealth = async () => (await request(`${portal.url}/api/v1/projection`)).json.health?.find((c) => c.name === 'api');

before(async () => {
  const dir = tempDir();
  const db = freshDb(dir);
  portal = await startPortal({ dir, db, config: CONFIG, args: ['--ready-interval-ms', '100'] });
  token = createToken(db, 'ci');
  limited = cli('token', 'create', '--name', 'deployer', '--scope', 'events:write', '--project', 'atlas-*',
    '--project', 'beta', '--type', 'deploy.*,session.started', '--db', db).trim().split('\n').pop();
  wide = cli('token', 'create', '--name', 'wide', '--scope', 'events:write', '--type', '*', '--db', db).trim().split('\n').pop();
  // The running server picks the new tokens up within a readiness interval.
  await waitUntil('the new token', 10000, async () => (await post(session('warm-up'))).status === 201);
  await waitUntil('the wide token', 10000, async () => (await post({ id: 'warm-up-3', type: 'deploy.done', project: 'beta' }, wide)).status === 201);
  await waitUntil('the limited token', 10000, async () => (await post({ id: 'warm-up-2', type: 'deploy.done', project: 'beta' }, limited)).status === 201);
});
after(async () => {
  const { code } = await portal.stop();
  assert.equal(code, 0);
  assert.equal(sanitizerReport(portal), '');
});

test('a forged health.changed is refused naming its type, and the real probe stands', async () => {
  const real = await waitUntil('the first probe of api', 10000, async () => {
    const h = await apiHealth();
    return h?.state === 'down' && h;
  });
  const r = await post({ id: 'forged-health', type: 'health.changed', project: 'atlas',
    data: { component: 'api', state: 'up', detail: 'HTTP 200' } });
  assert.equal(r.status, 403, r.text);
  assert.equal(r.json.error.code, 'forbidden');
  assert.equal(r.json.error.field, 'type');
  assert.match(r.json.error.message, /health\.changed/);
  assert.ok(!stored('forged-health'));
  const now = await apiHealth();
  assert.equal(now.state, 'down');
  assert.equal(now.detail, real.detail);
});

test('a forged proposal.transitioned in a batch stores nothing of the batch, naming the event', async () => {
  const r = await post([session('ok-1'), { id: 'forged-proof', type: 'proposal.transitioned', project: 'atlas',
    data: { proposal: 'p-0000000000000001', from: 'submitted', to: 'proven' } }]);
  assert.equal(r.status, 403, r.text);
  assert.equal(r.json.error.field, '[1].type');
  assert.match(r.json.error.message, /event 1: type 'proposal\.transitioned' is written only by Portal/);
  assert.match(r.json.error.message, /nothing in the batch was stored/);
  assert.ok(!stored('ok-1'), 'the good event of the batch is not kept either');
  assert.ok(!stored('forged-proof'));
});

test("an id in Portal's namespace is refused, and Portal's own events with such ids still land", async () => {
  const before = Number(dbSql(portal.db, "SELECT count(*) FROM portal_live_events WHERE type = 'proposal.transitioned'"));
  for (const id of ['probe-api-1700000000000-0', 'proposal:p-0011223344556677:1']) {
    const r = await post([session('fine'), session('claim', { id })]);
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.error.field, '[1].id');
    assert.ok(r.json.error.message.includes(id), r.json.error.message);
    assert.ok(!stored(id));
    assert.ok(!stored('fine'));
  }
  const p = await request(`${portal.url}/api/v1/proposals`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'producers-1' },
    body: JSON.stringify({ kind: 'note', project: 'atlas', input: { text: 'hello' } }),
  });
  assert.equal(p.status, 202, p.text);
  const id = p.json.proposal.id;
  const rows = dbSql(portal.db, `SELECT id, source FROM portal_live_events WHERE type = 'proposal.transitioned' AND id LIKE 'proposal:${id}:%'`);
  assert.match(rows, new RegExp(`^proposal:${id}:\\d+\\|portal$`, 'm'));
  assert.ok(Number(dbSql(portal.db, "SELECT count(*) FROM portal_live_events WHERE type = 'proposal.transitioned'")) > before);
  const probes = dbSql(portal.db, "SELECT source FROM portal_live_events WHERE type = 'health.changed' AND id LIKE 'probe-api-%'");
  assert.match(probes, /^prober$/m, 'the prober still writes its events');
});

test("a body's source is ignored: the token's name stands", async () => {
  const r = await post([session('src-1', { source: 'portal' }), session('src-2', { source: 'prober' }), session('src-3')]);
  assert.equal(r.status, 201, r.text);
  for (const id of ['src-1', 'src-2', 'src-3'])
    assert.equal(dbSql(portal.db, `SELECT source FROM portal_live_events WHERE id = '${id}'`), 'ci', id);
});

test('a limited token writes only its projects and types, by glob', async () => {
  const ok = await post([{ id: 'lim-1', type: 'deploy.started', project: 'atlas-eu' },
    { id: 'lim-2', type: 'session.started', project: 'beta', session: 's-lim-2' }], limited);
  assert.equal(ok.status, 201, ok.text);
  assert.equal(dbSql(portal.db, "SELECT source FROM portal_live_events WHERE id = 'lim-1'"), 'deployer');

  const project = await post([{ id: 'lim-3', type: 'deploy.done', project: 'atlas-eu' },
    { id: 'lim-4', type: 'deploy.done', project: 'atlas' }], limited);
  assert.equal(project.status, 403, project.text);
  assert.equal(project.json.error.field, '[1].project');
  assert.match(project.json.error.message, /event 1: .*projects atlas-\* beta, not 'atlas'/);
  assert.ok(!stored('lim-3'));

  const type = await post({ id: 'lim-5', type: 'session.tool', project: 'beta', session: 's-lim-2', data: { tool: 'git' } }, limited);
  assert.equal(type.status, 403, type.text);
  assert.equal(type.json.error.field, 'type');
  assert.match(type.json.error.message, /types deploy\.\* session\.started, not 'session\.tool'/);
  assert.ok(!stored('lim-5'));

  // A limit never opens what only Portal writes.
  const reserved = await post({ id: 'lim-6', type: 'health.changed', project: 'beta', data: { component: 'api', state: 'up' } }, wide);
  assert.equal(reserved.status, 403, reserved.text);
  assert.equal(reserved.json.error.field, 'type');
});

test('token list shows the limits, as text and as JSON', () => {
  const text = cli('token', 'list', '--db', portal.db);
  assert.match(text, /^deployer\s+live\s+events:write\s+\S+\s+projects: atlas-\* beta\s+types: deploy\.\* session\.started$/m);
  assert.match(text, /^ci\s+live\s+events:write\s+\S+$/m, 'a token without limits shows none');
  const list = JSON.parse(cli('token', 'list', '--json', '--db', portal.db));
  const d = list.find((t) => t.name === 'deployer');
  assert.deepEqual(d.projects, ['atlas-*', 'beta']);
  assert.deepEqual(d.types, ['deploy.*', 'session.started']);
  assert.deepEqual(list.find((t) => t.name === 'ci').projects, []);
});

test('bad limits are refused at create, naming the flag', () => {
  const cases = [
    [['--project', ''], /--project needs a name or a glob/],
    [['--type', 'deploy.['], /--type 'deploy\.\[': a \[ is not closed/],
    [['--project', 'a b'], /--project 'a b': character 2 is not allowed/],
    [['--type', 'x'.repeat(65)], /--type is 65 bytes; the limit is 64/],
    [['--project', 'a,b,c,d,e,f,g,h,i'], /--project is given more than 8 times/],
  ];
  for (const [args, want] of cases) {
    const r = spawnSync(binPath(), ['token', 'create', '--name', 'bad', '--scope', 'events:write', ...args, '--db', portal.db],
      { encoding: 'utf8', env: { PATH: process.env.PATH } });
    assert.equal(r.status, 1, args.join(' '));
    assert.match(r.stderr, want);
  }
  const named = spawnSync(binPath(), ['token', 'create', '--name', 'prober', '--scope', 'events:write', '--db', portal.db],
    { encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.equal(named.status, 1);
  assert.match(named.stderr, /--name 'prober' is the source Portal gives its own events/);
  assert.doesNotMatch(cli('token', 'list', '--db', portal.db), /^(bad|prober)\s/m);
});

test('portal emit follows the same rule: no type, id or source of Portal\'s own', () => {
  const cases = [
    [['--type', 'proposal.transitioned', '--data', '{"proposal":"p-1","to":"proven"}'], /--type: type 'proposal\.transitioned' is written only by Portal/],
    [['--type', 'deploy.done', '--id', 'probe-api-1-1'], /--id: id 'probe-api-1-1' is in Portal's own namespace/],
    [['--type', 'deploy.done', '--source', 'portal'], /--source: source 'portal' is Portal's own name/],
  ];
  for (const [args, want] of cases) {
    const r = spawnSync(binPath(), ['emit', '--db', portal.db, '--project', 'atlas', ...args],
      { encoding: 'utf8', env: { PATH: process.env.PATH } });
    assert.equal(r.status, 1, args.join(' '));
    assert.match(r.stderr, want);
  }
  assert.ok(!stored('probe-api-1-1'));
  assert.match(cli('emit', '--db', portal.db, '--project', 'atlas', '--type', 'deploy.done', '--id', 'shell-1'), /^shell-1 seq=\d+/);
});
