// One live truth: events in (auth, validation, atomic batches, idempotency,
// durability), the projection out (ETag, paging a pinned version, replay
// hash), and the live stream (snapshot, deltas, Last-Event-ID resumption).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readEvents } from '../lib/sse.mjs';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { startPortal, request, sanitizerReport, binPath, tempDir, freshDb, dbSql, SYNC_MS } from '../lib/portal.mjs';

const bin = binPath();
let portal, token;

function cli(...args) {
  return execFileSync(bin, args, { encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: SYNC_MS });
}

function post(body, { type = 'application/json', auth = token, url = portal.url } = {}) {
  const headers = { 'Content-Type': type };
  if (auth) headers.Authorization = `Bearer ${auth}`;
  return request(`${url}/api/v1/events`, {
    method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const ev = (id, extra = {}) => ({ id, type: 'session.started', project: 'atlas', session: `s-${id}`, ts: 1000, ...extra });

before(async () => {
  const dir = tempDir();
  const db = freshDb(dir);
  cli('migrate', '--db', db);
  token = cli('token', 'create', '--name', 'producer', '--scope', 'events:write', '--db', db).trim();
  portal = await startPortal({ dir, db, args: ['--ready-interval-ms', '100'] });
});
after(async () => {
  const { code } = await portal.stop();
  assert.equal(code, 0);
  assert.equal(sanitizerReport(portal), '');
});

test('the token is printed once and only its hash is stored', () => {
  assert.match(token, /^ptk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
  const dump = dbSql(portal.db, 'SELECT * FROM portal_tokens');
  // The secret is everything after the id: it may itself hold '_'.
  const secret = token.slice('ptk_'.length + 12 + 1);
  assert.equal(secret.length, 43);
  assert.ok(!dump.includes(secret), 'the secret must not be in the database');
  assert.match(cli('token', 'list', '--db', portal.db), /producer\s+live\s+events:write/);
});

test('posting without a valid bearer token is 401 and stores nothing', async () => {
  const none = await post(ev('noauth'), { auth: null });
  assert.equal(none.status, 401);
  assert.match(none.headers['www-authenticate'], /Bearer/);
  assert.equal(none.json.error.field, 'Authorization');
  const bad = await post(ev('badauth'), { auth: 'ptk_000000000000_' + 'x'.repeat(43) });
  assert.equal(bad.status, 401);
  assert.equal(bad.json.error.code, 'unauthenticated');
});

test('an event is stored once: a re-post returns its original seq', async () => {
  const first = await post(ev('e-1'));
  assert.equal(first.status, 201, first.text);
  assert.equal(first.json.stored, 1);
  const seq = first.json.events[0].seq;
  assert.ok(seq >= 1);
  const again = await post(ev('e-1', { project: 'changed' }));
  assert.equal(again.status, 200);
  assert.deepEqual(again.json.events[0], { id: 'e-1', seq, duplicate: true });
  assert.equal(again.json.stored, 0);
});

test('re-posted events use up no version: the next new event follows the last stored one', async () => {
  const batch = Array.from({ length: 500 }, (_, i) => ev(`gap-${i}`, { project: 'gapless' }));
  const first = await post(batch);
  assert.equal(first.status, 201, first.text);
  const seqs = first.json.events.map((e) => e.seq);
  seqs.forEach((seq, i) => assert.equal(seq, seqs[0] + i, `event ${i} follows the one before it`));
  const again = await post(batch);
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json.stored, 0);
  again.json.events.forEach((e, i) => assert.deepEqual(e, { id: `gap-${i}`, seq: seqs[i], duplicate: true }));
  const version = (await request(`${portal.url}/api/v1/projection`)).json.version;
  assert.equal(version, seqs.at(-1), 'duplicates do not move the version');
  const next = await post(ev('gap-new', { project: 'gapless' }));
  assert.equal(next.status, 201, next.text);
  assert.equal(next.json.events[0].seq, version + 1, 'no version was skipped');
  // A batch mixing known and new ids numbers only the new ones, in a row.
  const mixed = await post([ev('gap-3'), ev('gap-new-2'), ev('gap-new'), ev('gap-new-3')]);
  assert.equal(mixed.status, 201, mixed.text);
  assert.deepEqual(mixed.json.events.map((e) => e.seq), [seqs[3], version + 2, version + 1, version + 3]);
  assert.equal((await request(`${portal.url}/api/v1/projection`)).json.version, version + 3);
});

test('a batch is atomic: one bad event stores none, and the error names index and field', async () => {
  const before = (await request(`${portal.url}/api/v1/projection`)).json.version;
  const r = await post([ev('b-1'), ev('b-2'),
    { id: 'b-3', type: 'health.changed', project: 'p', data: { component: 'temporal', state: 'sideways' } }]);
  assert.equal(r.status, 400);
  assert.equal(r.json.error.field, '[2].data.state');
  assert.match(r.json.error.message, /nothing in the batch was stored/);
  const p = (await request(`${portal.url}/api/v1/projection`)).json;
  assert.equal(p.version, before);
  assert.ok(!p.sessions.some((s) => s.id === 's-b-1'));
});

test('NDJSON batches are accepted and a bad line is named', async () => {
  const body = [ev('n-1'), ev('n-2')].map((e) => JSON.stringify(e)).join('\n') + '\n';
  const ok = await post(body, { type: 'application/x-ndjson' });
  assert.equal(ok.status, 201);
  assert.equal(ok.json.events.length, 2);
  assert.ok(ok.json.events[1].seq > ok.json.events[0].seq, 'seq strictly increases');
  const bad = await post(`${JSON.stringify(ev('n-3'))}\n{"id": oops}\n`, { type: 'application/x-ndjson' });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /line 2/);
});

test('every limit has a clear 4xx', async () => {
  const many = Array.from({ length: 1001 }, (_, i) => ev(`m-${i}`));
  const tooMany = await post(many);
  assert.equal(tooMany.status, 413);
  assert.match(tooMany.json.error.message, /limit is 1000/);
  const longId = await post([ev('x'.repeat(129))]);
  assert.equal(longId.status, 413);
  assert.equal(longId.json.error.field, '[0].id');
  let deep = { v: 1 };
  for (let i = 0; i < 9; i++) deep = { d: deep };
  const tooDeep = await post(ev('deep', { type: 'x.y', data: deep }));
  assert.equal(tooDeep.status, 413);
  assert.equal(tooDeep.json.error.field, 'data');
  const wrongType = await post('id=1', { type: 'application/x-www-form-urlencoded' });
  assert.equal(wrongType.status, 415);
  const notJson = await post('{"id":');
  assert.equal(notJson.status, 400);
  assert.equal(notJson.json.error.code, 'invalid_json');
  const unknown = await post(ev('u-1', { colour: 'blue' }));
  assert.equal(unknown.status, 400);
  assert.equal(unknown.json.error.field, 'colour');
});

test('the projection has ETag "v<version>" and honours If-None-Match', async () => {
  const a = await request(`${portal.url}/api/v1/projection`);
  assert.equal(a.status, 200);
  assert.equal(a.headers.etag, `"v${a.json.version}"`);
  const same = await request(`${portal.url}/api/v1/projection`, { headers: { 'If-None-Match': a.headers.etag } });
  assert.equal(same.status, 304);
  await post(ev('etag-1'));
  const b = await request(`${portal.url}/api/v1/projection`, { headers: { 'If-None-Match': a.headers.etag } });
  assert.equal(b.status, 200);
  assert.ok(b.json.version > a.json.version);
});

test('session pages stay on the version the first page pinned', async () => {
  await post(Array.from({ length: 7 }, (_, i) => ev(`page-${i}`, { project: 'paging' })));
  const first = await request(`${portal.url}/api/v1/projection/sessions?project=paging&limit=3`);
  assert.equal(first.status, 200);
  assert.equal(first.json.sessions.length, 3);
  assert.ok(first.json.next_cursor);
  await post([ev('page-late', { project: 'paging' })]); // a newer version exists now
  const second = await request(`${portal.url}/api/v1/projection/sessions?project=paging&limit=3&cursor=${first.json.next_cursor}`);
  assert.equal(second.json.version, first.json.version);
  const third = await request(`${portal.url}/api/v1/projection/sessions?project=paging&limit=3&cursor=${second.json.next_cursor}`);
  assert.equal(third.json.version, first.json.version);
  assert.equal(third.json.next_cursor, null);
  const ids = [...first.json.sessions, ...second.json.sessions, ...third.json.sessions].map((s) => s.id);
  assert.deepEqual(ids, Array.from({ length: 7 }, (_, i) => `s-page-${i}`), 'no session from the later version');
  const bad = await request(`${portal.url}/api/v1/projection/sessions?limit=0`);
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.field, 'limit');
  const status = await request(`${portal.url}/api/v1/projection/sessions?status=sleeping`);
  assert.equal(status.json.error.field, 'status');
  // Newer versions being read do not expire a cursor: under steady ingest
  // and reads a version would otherwise be gone before the next page.
  for (let i = 0; i < 10; i++) {
    await post([ev(`page-push-${i}`, { project: 'elsewhere' })]);
    await request(`${portal.url}/api/v1/projection`);
  }
  const kept = await request(`${portal.url}/api/v1/projection/sessions?project=paging&limit=3&cursor=${first.json.next_cursor}`);
  assert.equal(kept.status, 200);
  assert.equal(kept.json.version, first.json.version);
  // Enough listings pin newer versions that this one is no longer kept.
  for (let i = 0; i < 10; i++) {
    await post([ev(`page-pin-${i}`, { project: 'elsewhere' })]);
    const other = await request(`${portal.url}/api/v1/projection/sessions?project=elsewhere&limit=1`);
    assert.ok(other.json.next_cursor);
  }
  const gone = await request(`${portal.url}/api/v1/projection/sessions?project=paging&limit=3&cursor=${first.json.next_cursor}`);
  assert.equal(gone.status, 410);
  assert.equal(gone.json.error.code, 'cursor_expired');
});

test('portal replay prints the sha256 of the exact bytes the server serves', async () => {
  const served = await fetch(`${portal.url}/api/v1/projection`, { headers: { Cookie: portal.session.cookie } });
  const bytes = Buffer.from(await served.arrayBuffer());
  const version = JSON.parse(bytes).version;
  const out = cli('replay', '--db', portal.db);
  const hash = crypto.createHash('sha256').update(bytes).digest('hex');
  assert.match(out, new RegExp(`^version=${version} sha256=${hash} `));
});

test('the stream starts with the snapshot, carries deltas, and resumes from Last-Event-ID', async () => {
  const ac = new AbortController();
  const res = await fetch(`${portal.url}/api/v1/stream`, { signal: ac.signal, headers: { Cookie: portal.session.cookie } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /text\/event-stream/);
  const snapPromise = readEvents(res, (m) => m.length >= 2);
  await new Promise((r) => setTimeout(r, 300));
  const posted = await post(ev('sse-1', { project: 'streamed' }));
  const msgs = await snapPromise;
  ac.abort();
  assert.equal(msgs[0].event, 'snapshot');
  assert.equal(msgs[1].event, 'delta');
  const seq = posted.json.events[0].seq;
  assert.equal(Number(msgs[1].id), seq);
  assert.equal(msgs[1].json.version, seq);
  assert.deepEqual(msgs[1].json.sessions.map((s) => s.id), ['s-sse-1']);

  // Missed while disconnected: two more commits.
  const a = await post(ev('sse-2', { project: 'streamed' }));
  const b = await post(ev('sse-3', { project: 'streamed' }));
  const res2 = await fetch(`${portal.url}/api/v1/stream`, { headers: { 'Last-Event-ID': String(seq), Cookie: portal.session.cookie } });
  const resumed = await readEvents(res2, (m) => m.length >= 2);
  assert.deepEqual(resumed.map((m) => m.event), ['delta', 'delta'], 'no snapshot when the gap is covered');
  assert.deepEqual(resumed.map((m) => Number(m.id)), [a.json.events[0].seq, b.json.events[0].seq]);

  const res3 = await fetch(`${portal.url}/api/v1/stream`, { headers: { 'Last-Event-ID': '99999999', Cookie: portal.session.cookie } });
  const fresh = await readEvents(res3, (m) => m.length >= 1);
  assert.equal(fresh[0].event, 'snapshot', 'an unknown position gets a full snapshot');
  const metrics = (await request(`${portal.url}/metrics`)).text;
  assert.match(metrics, /^portal_stream_resyncs_total [1-9]/m);
  assert.match(metrics, new RegExp(`^portal_projection_version ${b.json.events[0].seq}$`, 'm'));
});

test('an event appended from the shell reaches the running server', async () => {
  const out = cli('emit', '--db', portal.db, '--type', 'session.started', '--project', 'fractalops',
    '--session', 's-from-shell');
  const seq = Number(/seq=(\d+)/.exec(out)[1]);
  let p;
  for (let i = 0; i < 50; i++) {
    p = (await request(`${portal.url}/api/v1/projection`)).json;
    if (p.version >= seq) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(p.version >= seq);
  assert.ok(p.sessions.some((s) => s.id === 's-from-shell'));
  const forged = (() => { try { cli('emit', '--db', portal.db, '--type', 'health.changed', '--project', 'fractalops', '--data', '{"component":"temporal","state":"up"}'); } catch (e) { return e; } })();
  assert.ok(forged, 'the shell may not write what only Portal writes');
  assert.match(forged.stderr, /--type: type 'health.changed' is written only by Portal itself/);
  const bad = (() => { try { cli('emit', '--db', portal.db, '--type', 'session.tool', '--project', 'p'); } catch (e) { return e; } })();
  assert.ok(bad, 'an invalid event is refused');
  assert.match(bad.stderr, /session is required/);
});

test('a revoked token stops working', async () => {
  const extra = cli('token', 'create', '--name', 'short-lived', '--scope', 'events:write', '--db', portal.db).trim();
  let r;
  for (let i = 0; i < 50; i++) {
    r = await post(ev(`tok-${i}`), { auth: extra });
    if (r.status !== 401) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(r.status, 201, 'a new token works within a readiness interval');
  cli('token', 'revoke', 'short-lived', '--db', portal.db);
  for (let i = 0; i < 50; i++) {
    r = await post(ev(`tok-r-${i}`), { auth: extra });
    if (r.status === 401) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(r.status, 401);
});

test('the operator view renders table and minimap from one version; history is labelled debug', async () => {
  const page = await request(`${portal.url}/operator`, { headers: { Accept: 'text/html' } });
  assert.equal(page.status, 200);
  const table = /<table id="sessions"[^>]*data-version="(\d+)"/.exec(page.text);
  const map = /<svg id="minimap"[^>]*data-version="(\d+)"/.exec(page.text);
  assert.ok(table && map, 'both carry data-version');
  assert.equal(table[1], map[1]);
  assert.match(page.text, /s-e-1/);
  const hist = await request(`${portal.url}/debug/history`, { headers: { Accept: 'text/html' } });
  assert.equal(hist.status, 200);
  assert.match(hist.text, /data-surface="debug"/);
  assert.match(hist.text, /session\.started/);
});

test('acknowledged events survive kill -9', async () => {
  const dir = tempDir();
  const db = freshDb(dir);
  cli('migrate', '--db', db);
  const t = cli('token', 'create', '--name', 'crash', '--scope', 'events:write', '--db', db).trim();
  const p = await startPortal({ dir, db });
  const batch = Array.from({ length: 50 }, (_, i) => ev(`k-${i}`));
  const r = await post(batch, { auth: t, url: p.url });
  assert.equal(r.status, 201);
  const last = r.json.events.at(-1).seq;
  p.process.kill('SIGKILL');
  await p.exited;
  const again = await startPortal({ dir, db });
  const snap = (await request(`${again.url}/api/v1/projection`)).json;
  assert.equal(snap.version, last);
  assert.equal(snap.sessions.length, 50);
  assert.equal((await again.stop()).code, 0);
});
