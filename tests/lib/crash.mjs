// Helpers for the kill -9 tests (tests/integration/crash.test.mjs): a seeded
// random schedule (the seed is printed; PORTAL_CRASH_SEED replays it), kill
// and restart of serve and workers on the same database, clients that keep
// writing while a process dies and remember exactly what was acknowledged,
// and readers of what the store holds afterwards. Only the schedule is
// replayable: which request a kill interrupts still depends on timing.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { binPath, dbSql, onPg, SYNC_MS, waitUntil } from './portal.mjs';
import { takeMessages } from './sse.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The seed of one test's schedule: PORTAL_CRASH_SEED, or a fresh one; printed either way. */
export function crashSeed(name) {
  const given = process.env.PORTAL_CRASH_SEED;
  const seed = given ? Number(given) >>> 0 : crypto.randomInt(2 ** 32);
  console.log(`# ${name}: PORTAL_CRASH_SEED=${seed}`);
  return seed;
}

/** mulberry32: a small PRNG whose whole state is the seed. */
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)), // lo..hi inclusive
    chance: (p) => next() < p,
    pick: (arr) => arr[Math.floor(next() * arr.length)],
  };
}

/** SIGKILL to a process started by the harness (serve or worker); resolves when it is gone. */
export async function kill9(proc) {
  const child = proc.process;
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  const r = await proc.exited;
  return r;
}

/**
 * Polls fn until it returns a truthy value; fails after ms (times
 * PORTAL_TEST_SLOW) naming what (a string, or a function giving one).
 */
export function waitFor(fn, ms, what) {
  const name = typeof what === 'function' ? 'a condition' : what;
  return waitUntil(name, ms, fn, { detail: typeof what === 'function' ? what : undefined });
}

function cli(args) {
  const r = spawnSync(binPath(), args, { encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: SYNC_MS });
  if (r.error) throw new Error(`portal ${args[0]}: ${r.error.message}`);
  return r;
}

/** A bearer token with scope events:write, made with `portal token create` (migrates first). */
export function eventsToken(db, name = 'crash-producer') {
  const m = cli(['migrate', '--db', db]);
  if (m.status !== 0) throw new Error(`portal migrate: ${m.stderr}`);
  const r = cli(['token', 'create', '--name', name, '--scope', 'events:write', '--db', db]);
  if (r.status !== 0) throw new Error(`portal token create: ${r.stderr}`);
  return r.stdout.trim();
}

/** `portal check --audit`: { status, stdout, stderr }. */
export function checkAudit(db) {
  return cli(['check', '--audit', '--db', db]);
}

/** `portal replay`: { version, sha256 } of a fresh fold of the whole log. */
export function replay(db) {
  const r = cli(['replay', '--db', db]);
  if (r.status !== 0) throw new Error(`portal replay: ${r.stderr}`);
  const m = /^version=(\d+) sha256=([0-9a-f]{64}) /.exec(r.stdout);
  if (!m) throw new Error(`portal replay printed ${r.stdout}`);
  return { version: Number(m[1]), sha256: m[2] };
}

/** The whole log as [{ seq, id }] in seq order. */
export function readLog(db) {
  const out = dbSql(db, 'SELECT seq, id FROM portal_live_events ORDER BY seq');
  if (!out) return [];
  return out.split('\n').map((line) => {
    const bar = line.indexOf('|');
    return { seq: Number(line.slice(0, bar)), id: line.slice(bar + 1) };
  });
}

/**
 * An event producer: posts batches of session.started events (a JSON array
 * or NDJSON, 1..maxBatch events, now and then with an id it already had
 * acknowledged) until stop() or until the server is gone. It keeps
 * acked (id → seq, from 2xx answers only), unanswered batches (the request
 * died with the server: all or none of each may be stored) and refused ones
 * (a non-2xx answer: none may be stored). Checks each answer as it comes: a
 * re-posted id must come back as a duplicate with its first seq.
 */
export function startProducer({ url, token, name, rnd, maxBatch = 12, pauseMs = 25, acked = new Map() }) {
  const state = { acked, unanswered: [], refused: [], errors: [], posts: 0, stopped: false };
  let n = 0;
  const ev = (id) => ({ id, type: 'session.started', project: `crash-${name}`, session: `s-${id}`, source: `producer-${name}`, ts: 1000 });
  const loop = (async () => {
    while (!state.stopped) {
      const size = rnd.int(1, maxBatch);
      const ids = [];
      for (let i = 0; i < size; i++) ids.push(`${name}-${(n++).toString(36)}-${rnd.int(0, 1e6).toString(36)}`);
      const known = [...state.acked.keys()];
      const again = known.length && rnd.chance(0.2) ? rnd.pick(known) : null;
      if (again) ids.splice(rnd.int(0, ids.length), 0, again);
      const events = ids.map(ev);
      const ndjson = rnd.chance(0.5);
      const body = ndjson ? events.map((e) => JSON.stringify(e)).join('\n') + '\n' : JSON.stringify(events);
      let res, text;
      try {
        res = await fetch(`${url}/api/v1/events`, {
          method: 'POST', body,
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': ndjson ? 'application/x-ndjson' : 'application/json' },
        });
        text = await res.text();
      } catch {
        state.unanswered.push(ids.filter((id) => id !== again));
        return; // the server is gone
      }
      state.posts++;
      if (res.status !== 200 && res.status !== 201) {
        state.refused.push({ status: res.status, text, ids: ids.filter((id) => id !== again) });
        await sleep(pauseMs);
        continue;
      }
      const json = JSON.parse(text);
      for (const e of json.events) {
        if (e.id === again) {
          if (!e.duplicate || e.seq !== state.acked.get(again)) state.errors.push(`re-posted ${again} came back as ${JSON.stringify(e)}, first seq ${state.acked.get(again)}`);
        } else if (e.duplicate) {
          state.errors.push(`new id ${e.id} answered as a duplicate`);
        } else {
          state.acked.set(e.id, e.seq);
        }
      }
      if (pauseMs) await sleep(rnd.int(0, pauseMs));
    }
  })();
  state.stop = async () => { state.stopped = true; await loop; };
  state.done = loop;
  return state;
}

/**
 * Checks the log against what producers were told: every acknowledged id
 * is stored with the seq it was acknowledged with, seq strictly increases
 * and no id is stored twice, every unanswered batch is stored whole or not
 * at all, no refused batch is stored. Returns the log. Throws with every
 * problem found.
 */
export function checkLog(db, producers) {
  const log = readLog(db);
  const problems = [];
  const bySeq = new Map();
  const byId = new Map();
  let prev = 0;
  for (const { seq, id } of log) {
    if (!(seq > prev)) problems.push(`seq ${seq} after ${prev}`);
    prev = seq;
    if (byId.has(id)) problems.push(`id ${id} stored twice (seq ${byId.get(id)} and ${seq})`);
    byId.set(id, seq);
    bySeq.set(seq, id);
  }
  for (const p of producers) {
    for (const e of p.errors) problems.push(e);
    for (const [id, seq] of p.acked) {
      if (!byId.has(id)) problems.push(`acknowledged ${id} (seq ${seq}) is not in the log`);
      else if (byId.get(id) !== seq) problems.push(`acknowledged ${id} with seq ${seq}, stored at ${byId.get(id)}`);
    }
    for (const ids of p.unanswered) {
      const stored = ids.filter((id) => byId.has(id));
      if (stored.length !== 0 && stored.length !== ids.length) problems.push(`a batch was half stored: ${stored.length} of ${ids.length} (${ids.join(' ')})`);
    }
    for (const r of p.refused) {
      const stored = r.ids.filter((id) => byId.has(id));
      if (stored.length) problems.push(`refused with ${r.status} but stored: ${stored.join(' ')} (${r.text})`);
    }
  }
  if (problems.length) throw new Error(`the log disagrees with what was acknowledged:\n${problems.slice(0, 30).join('\n')}`);
  return { log, byId, last: prev };
}

/** GET /api/v1/projection as exact bytes: { version, sha256, json }. */
export async function servedProjection(portal) {
  const res = await fetch(`${portal.url}/api/v1/projection`, { headers: { Cookie: portal.session.cookie } });
  const bytes = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`GET /api/v1/projection: ${res.status} ${bytes}`);
  const json = JSON.parse(bytes);
  return { version: json.version, sha256: crypto.createHash('sha256').update(bytes).digest('hex'), json };
}

/**
 * Waits until the served projection is at the log's last seq with nothing
 * appended in between, and checks that a fresh fold of the same log
 * (`portal replay`) gives the same bytes. Returns the served projection.
 */
export async function checkProjection(portal) {
  let served, last, fold;
  await waitFor(async () => {
    const before = readLog(portal.db).at(-1)?.seq ?? 0;
    served = await servedProjection(portal);
    fold = replay(portal.db);
    last = readLog(portal.db).at(-1)?.seq ?? 0;
    return before === last && served.version === last && fold.version === last;
  }, 15000, () => `projection version ${served?.version}, replay ${fold?.version}, last seq in the log ${last}`);
  if (served.sha256 !== fold.sha256) throw new Error(`at version ${last} the served snapshot (${served.sha256}) is not a fresh fold of the log (${fold.sha256})`);
  return served;
}

/**
 * Re-posts every acknowledged id (in batches of up to 500) and checks that
 * each comes back as a duplicate with its original seq.
 */
export async function checkRepost(portal, token, acked) {
  const all = [...acked];
  for (let i = 0; i < all.length; i += 500) {
    const chunk = all.slice(i, i + 500);
    const body = JSON.stringify(chunk.map(([id]) => ({ id, type: 'session.started', project: 'crash-repost', session: `s-repost-${id}`, ts: 1000 })));
    const res = await fetch(`${portal.url}/api/v1/events`, { method: 'POST', body, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } });
    const json = await res.json();
    if (res.status !== 200 || json.stored !== 0) throw new Error(`re-posting acknowledged ids: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
    json.events.forEach((e, k) => {
      if (!e.duplicate || e.id !== chunk[k][0] || e.seq !== chunk[k][1]) throw new Error(`re-posted ${chunk[k][0]} (seq ${chunk[k][1]}) came back as ${JSON.stringify(e)}`);
    });
  }
}

/**
 * A server-sent events reader on /api/v1/stream (with Last-Event-ID when
 * last is given) that keeps every message ({event, id, json}) until stop()
 * or until the stream breaks (the server died). done resolves then.
 */
export function watchStream(portal, last) {
  const ac = new AbortController();
  const w = { messages: [], ended: false };
  const headers = { Cookie: portal.session.cookie };
  if (last !== undefined) headers['Last-Event-ID'] = String(last);
  w.done = (async () => {
    try {
      const res = await fetch(`${portal.url}/api/v1/stream`, { signal: ac.signal, headers });
      if (res.status !== 200) throw new Error(`GET /api/v1/stream: ${res.status}`);
      const dec = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body) {
        buf += dec.decode(chunk, { stream: true });
        // Only whole messages count: one cut by the kill has no blank line yet.
        const got = [];
        buf = takeMessages(buf, got);
        for (const m of got) w.messages.push({ event: m.event, id: Number(m.id), json: m.json });
      }
    } catch (e) {
      if (e.name !== 'AbortError' && !/terminated|other side closed|ECONNRESET|fetch failed/i.test(`${e.message} ${e.cause?.message ?? ''}`)) w.error = e;
    }
    w.ended = true;
  })();
  w.last = () => w.messages.reduce((m, x) => Math.max(m, x.id), -1);
  w.stop = async () => { ac.abort(); await w.done; };
  return w;
}

// --- proposals

/**
 * Proposals and their audit trails as stored, checked for consistency: each
 * proposal's audit rows form one unbroken path of the state machine
 * (from '' to submitted first, then each row from where the last one went)
 * ending in the state the proposal row holds; a running proposal has a
 * lease owner and end, no other state has either; every audit row has its
 * proposal.transitioned event in the live log and no such event is without
 * its row. Returns { proposals: Map id → row, audit: Map id → rows }.
 */
export function checkProposals(db) {
  const json = onPg ? 'json_build_object' : 'json_object';
  const rows = dbSql(db, `SELECT ${json}('id', id, 'state', state, 'attempts', attempts, 'lease_owner', lease_owner,
    'lease_until', lease_until, 'last_error', last_error, 'idempotency_key', idempotency_key, 'proposer', proposer) FROM portal_proposals`);
  const proposals = new Map();
  for (const line of rows ? rows.split('\n') : []) { const p = JSON.parse(line); proposals.set(p.id, p); }
  const arows = dbSql(db, `SELECT ${json}('seq', seq, 'proposal', proposal, 'from', from_state, 'to', to_state, 'actor', actor, 'reason', reason) FROM portal_audit ORDER BY seq`);
  const audit = new Map();
  for (const line of arows ? arows.split('\n') : []) {
    const a = JSON.parse(line);
    if (!audit.has(a.proposal)) audit.set(a.proposal, []);
    audit.get(a.proposal).push(a);
  }
  const problems = [];
  for (const [id, p] of proposals) {
    const trail = audit.get(id) ?? [];
    let at = '';
    for (const a of trail) {
      if (a.from !== at) problems.push(`${id}: audit row ${a.seq} goes ${a.from} → ${a.to} but the proposal was ${at || 'new'}`);
      at = a.to;
    }
    if (at !== p.state) problems.push(`${id} is ${p.state} but its audit trail ends in ${at || 'nothing'}`);
    const leased = p.lease_owner !== null && p.lease_owner !== '' && p.lease_until !== null;
    if ((p.state === 'running') !== leased) problems.push(`${id} is ${p.state} with lease ${p.lease_owner} until ${p.lease_until}`);
  }
  for (const id of audit.keys()) if (!proposals.has(id)) problems.push(`audit rows for ${id}, which does not exist`);
  const evs = dbSql(db, "SELECT id FROM portal_live_events WHERE type = 'proposal.transitioned'");
  const have = new Set(evs ? evs.split('\n') : []);
  const want = new Set([...audit.values()].flat().map((a) => `proposal:${a.proposal}:${a.seq}`));
  for (const id of want) if (!have.has(id)) problems.push(`audit row ${id} has no live event`);
  for (const id of have) if (!want.has(id)) problems.push(`live event ${id} has no audit row`);
  if (problems.length) throw new Error(`proposals, audit and log disagree:\n${problems.slice(0, 30).join('\n')}`);
  return { proposals, audit };
}

/**
 * Signs in with fresh sessions and keeps submitting (as proposer, with an
 * Idempotency-Key) and approving (as approver) proposals of `kind` until
 * stop() or the server is gone. Keeps submitted (id → key, from 202s),
 * approved (ids whose approval got a 200), unanswered submissions (keys)
 * and approvals (ids). input(n) gives the input of the n-th proposal.
 */
export function startProposer({ portal, proposer, approver, kind, input, rnd, name, pauseMs = 40, project = 'atlas' }) {
  const state = { submitted: new Map(), approved: new Set(), unansweredSubmit: [], unansweredApprove: [], errors: [], stopped: false };
  let n = 0;
  const post = (s, path, body, headers = {}) => fetch(`${portal.url}${path}`, {
    method: 'POST', body: JSON.stringify(body),
    headers: { Cookie: s.cookie, 'X-CSRF-Token': s.csrf, 'Content-Type': 'application/json', ...headers },
  });
  const loop = (async () => {
    while (!state.stopped) {
      const key = `${name}-${n}-${rnd.int(0, 1e9).toString(36)}`;
      let res, json;
      try {
        res = await post(proposer, '/api/v1/proposals', { kind, project, input: input(n++) }, { 'Idempotency-Key': key });
        json = await res.json();
      } catch {
        state.unansweredSubmit.push(key);
        return;
      }
      if (res.status !== 202) { state.errors.push(`submit: ${res.status} ${JSON.stringify(json)}`); return; }
      const id = json.proposal.id;
      state.submitted.set(id, key);
      if (rnd.chance(0.8)) {
        try {
          res = await post(approver, `/api/v1/proposals/${id}/approve`, {});
          json = await res.json();
        } catch {
          state.unansweredApprove.push(id);
          return;
        }
        if (res.status !== 200) { state.errors.push(`approve ${id}: ${res.status} ${JSON.stringify(json)}`); return; }
        state.approved.add(id);
      }
      if (pauseMs) await sleep(rnd.int(0, pauseMs));
    }
  })();
  state.stop = async () => { state.stopped = true; await loop; };
  state.done = loop;
  return state;
}
