// Slow and stalled event-stream clients: a client that stops reading
// /api/v1/stream is skipped once it has live.stream_max_pending_bytes queued,
// closed by the server live.stream_slow_drop_ms later, and costs bounded
// memory; meanwhile every other stream, the event ingest and the API go on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { takeMessages } from '../lib/sse.mjs';
import { startPortal, request, sanitizerReport, binPath, tempDir, freshDb, slow, SYNC_MS } from '../lib/portal.mjs';

const bin = binPath();
const CAP = 512 * 1024;
const DROP_MS = 3000;
let portal, token;

function cli(...args) {
  return execFileSync(bin, args, { encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: SYNC_MS });
}

// A portal on a fresh store with a token to post events (flags in args).
async function freshPortal(args) {
  const dir = tempDir();
  const db = freshDb(dir);
  cli('migrate', '--db', db);
  token = cli('token', 'create', '--name', 'producer', '--scope', 'events:write', '--db', db).trim();
  // Under AddressSanitizer, freed memory waits in a quarantine of up to
  // 256 MB, which would swamp the memory comparison below; a small one keeps
  // RSS about what the server holds.
  const asan = [process.env.ASAN_OPTIONS, 'quarantine_size_mb=16'].filter(Boolean).join(':');
  portal = await startPortal({ dir, db, args, env: { ASAN_OPTIONS: asan } });
}

async function stopPortal() {
  const { code } = await portal.stop();
  assert.equal(code, 0);
  assert.equal(sanitizerReport(portal), '');
}

before(() => freshPortal(['--stream-max-pending-bytes', String(CAP), '--stream-slow-drop-ms', String(DROP_MS)]));
after(stopPortal);

// One batch of `n` session.started events, each for a session of its own
// (so a lost delta shows as a session never seen), with enough text that a
// few hundred batches fill any socket buffer.
let batchNo = 0;
function batch(tag, n = 100) {
  const k = batchNo++;
  return Array.from({ length: n }, (_, i) => ({
    id: `${tag}-${k}-${i}`, type: 'session.started', project: 'slow', session: `${tag}-${k}-${i}`, ts: 1000 + k,
    data: { harness: 'h'.repeat(60), inputs: { repository: `r-${'x'.repeat(300)}`, ticket: `t-${k}-${i}` } },
  }));
}

async function post(events) {
  const r = await request(`${portal.url}/api/v1/events`, {
    method: 'POST', auth: false,
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(events),
  });
  assert.equal(r.status, 201, r.text);
  return r.json.events.at(-1).seq;
}

async function metric(name) {
  const text = (await request(`${portal.url}/metrics`)).text;
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  assert.ok(m, `${name} is on /metrics`);
  return Number(m[1]);
}

function rssKb(pid) {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
}

// A raw stream client that sends its request and then never reads.
function stalledClient(lastId) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port: portal.port, host: '127.0.0.1' }, () => {
      sock.setNoDelay(true);
      sock.pause();
      const last = lastId === undefined ? '' : `Last-Event-ID: ${lastId}\r\n`;
      sock.write(`GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nCookie: ${portal.session.cookie}\r\n${last}\r\n`);
      resolve(sock);
    });
    sock.on('error', reject);
  });
}

// The state of the server's end of the TCP connection whose client end is
// `sock` (from /proc/net/tcp): '01' is ESTABLISHED; anything else means the
// server has closed it (or it is gone).
function serverSideState(sock) {
  const hex = (p) => p.toString(16).toUpperCase().padStart(4, '0');
  const local = `:${hex(portal.port)}`, remote = `:${hex(sock.localPort)}`;
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 3 && f[1].endsWith(local) && f[2].endsWith(remote)) return f[3];
  }
  return 'gone';
}

// Reads what is left on a paused raw socket until the server ends it;
// returns the event-stream messages in the (chunked) body.
function drain(sock, ms = 30000 * slow) {
  return new Promise((resolve, reject) => {
    const parts = [];
    const t = setTimeout(() => reject(new Error('the server did not end the stream')), ms);
    sock.on('data', (d) => parts.push(d));
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(t);
      const raw = Buffer.concat(parts).toString('latin1');
      const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
      let text = '', i = 0;
      for (;;) {
        const nl = body.indexOf('\r\n', i);
        if (nl < 0) break;
        const len = parseInt(body.slice(i, nl), 16);
        if (!(len > 0) || nl + 2 + len > body.length) break;
        text += body.slice(nl + 2, nl + 2 + len);
        i = nl + 2 + len + 2;
      }
      const messages = [];
      takeMessages(Buffer.from(text, 'latin1').toString('utf8'), messages);
      resolve(messages);
    });
    sock.resume();
  });
}

// A normal stream reader: collects messages until the stream reaches `want()`.
function reader(headers = {}) {
  const ac = new AbortController();
  const messages = [];
  const opened = fetch(`${portal.url}/api/v1/stream`, { signal: ac.signal, headers: { Cookie: portal.session.cookie, ...headers } });
  const done = (async () => {
    const res = await opened;
    assert.equal(res.status, 200);
    const r = res.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      let got;
      try { got = await r.read(); } catch { break; }
      if (got.done) break;
      buf = takeMessages(buf + dec.decode(got.value, { stream: true }), messages);
    }
  })();
  return {
    messages, opened,
    async until(pred, ms = 60000 * slow) {
      const deadline = Date.now() + ms;
      while (!pred(messages)) {
        if (Date.now() > deadline) throw new Error(`stream: timed out after ${messages.length} messages`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close() { ac.abort(); return done.catch(() => {}); },
  };
}

// Session ids carried by a list of stream messages (snapshot and deltas).
function sessionsIn(messages) {
  const seen = new Set();
  for (const m of messages) for (const s of m.json.sessions ?? []) seen.add(s.id);
  return seen;
}

let stalled, stalledSessions = [], lastSeq = 0, rssBeforeKb, rssAfterKb, stallBatches = 0;

test('a client that stops reading is closed after the drop time while a normal reader gets every event in order and ingest is acknowledged', async () => {
  const normal = reader();
  await (await normal.opened, normal.until((ms) => ms.some((m) => m.event === 'snapshot')));
  rssBeforeKb = rssKb(portal.process.pid);
  const droppedBefore = await metric('portal_stream_dropped_total');
  stalled = await stalledClient();
  const posted = [];
  // Post until the stalled client has been dropped (bounded, so a server
  // that never drops it fails here rather than running forever).
  for (let round = 0; round < 100; round++) {
    for (let i = 0; i < 10; i++) {
      const events = batch('st');
      lastSeq = await post(events);
      stallBatches++;
      posted.push(...events.map((e) => e.session));
    }
    if ((await metric('portal_stream_dropped_total')) > droppedBefore) break;
  }
  assert.equal(await metric('portal_stream_dropped_total'), droppedBefore + 1, 'the stalled stream was dropped, and only it');
  rssAfterKb = rssKb(portal.process.pid);
  stalledSessions = posted;
  // The server has closed its end although the client still reads nothing.
  const deadline = Date.now() + 10000 * slow;
  while (serverSideState(stalled) === '01' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.notEqual(serverSideState(stalled), '01', 'the server closed the stalled connection');

  await normal.until((ms) => ms.length > 0 && Number(ms.at(-1).id) >= lastSeq);
  await normal.close();
  const ids = normal.messages.map((m) => Number(m.id));
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], `ids increase: ${ids[i - 1]} then ${ids[i]}`);
  assert.equal(ids.at(-1), lastSeq);
  const seen = sessionsIn(normal.messages);
  const missing = posted.filter((s) => !seen.has(s));
  assert.deepEqual(missing.slice(0, 5), [], `${missing.length} sessions never reached the normal reader`);
});

test('a stalled client costs bounded memory: the stall grows the server no more than the same ingest without it, give or take 64 MB', async () => {
  assert.ok(rssAfterKb, 'runs after the stall above');
  // The projection and the delta ring keep what was posted either way; the
  // same number of batches again, with no stalled client, is the control.
  const before = rssKb(portal.process.pid);
  for (let i = 0; i < stallBatches; i++) await post(batch('ctl'));
  const control = rssKb(portal.process.pid) - before;
  const stall = rssAfterKb - rssBeforeKb;
  assert.ok(stall <= control + 64 * 1024, `RSS grew ${stall} kB over the stall, ${control} kB for the same ingest without it`);
});

test('a dropped client that reconnects with Last-Event-ID gets the deltas it missed', async () => {
  assert.ok(stalled, 'runs after the stall above');
  const got = await drain(stalled);
  const lastId = got.length ? got.at(-1).id : undefined;
  assert.ok(lastId !== undefined && Number(lastId) < lastSeq, `the stalled client fell behind (last id ${lastId}, newest ${lastSeq})`);
  const resumed = reader({ 'Last-Event-ID': lastId });
  await resumed.until((ms) => ms.length > 0 && Number(ms.at(-1).id) >= lastSeq);
  await resumed.close();
  // Well within the kept deltas: no snapshot, only what came after lastId.
  assert.deepEqual(resumed.messages.filter((m) => m.event !== 'delta').map((m) => m.event), []);
  assert.ok(Number(resumed.messages[0].id) > Number(lastId));
  const seen = new Set([...sessionsIn(got), ...sessionsIn(resumed.messages)]);
  const missing = stalledSessions.filter((s) => !seen.has(s));
  assert.deepEqual(missing.slice(0, 5), [], `${missing.length} sessions never reached the resumed client`);
});

test('two hundred stalled stream clients do not stop a normal reader or an API read', async () => {
  // A store of its own, so that the snapshot each client starts with is
  // small, and the default drop time, so the stalled clients stay
  // connected (skipped) while events are posted.
  await stopPortal();
  await freshPortal(['--stream-max-pending-bytes', String(CAP)]);
  const socks = [];
  for (let i = 0; i < 200; i++) socks.push(await stalledClient());
  try {
    const normal = reader();
    await normal.opened;
    const events = [];
    let seq;
    for (let i = 0; i < 40; i++) {
      const b = batch('many');
      seq = await post(b);
      events.push(...b);
    }
    await normal.until((ms) => ms.some((m) => Number(m.id) >= seq));
    await normal.close();
    const seen = sessionsIn(normal.messages);
    assert.ok(events.every((e) => seen.has(e.session)));
    const r = await request(`${portal.url}/api/v1/projection`);
    assert.equal(r.status, 200);
    assert.ok(r.json.version >= seq);
  } finally {
    for (const s of socks) s.destroy();
  }
});
