// The test harness: starts the real `portal` binary on a free loopback port
// with a temporary database, reads its JSON log lines, and stops it with a
// signal. PORTAL_BIN selects the build (build/portal or build-san/portal).
// PORTAL_TEST_PG (a postgres:// URL of a throwaway cluster, as
// scripts/pg-temp.sh prints) selects the store: each database a test asks
// for is then a fresh schema there, named in the URL (search_path), instead
// of a temporary SQLite file; the schemas go when the test file's process
// ends. Either way the value is what `--db` gets (portal.db).
//
// Importing it also bounds the test file: every child process and listening
// server the file's process starts is registered as it starts, the file has
// a time limit, and every wait names itself (see "What this file started").
import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// Sign-ins of the servers started here, by origin: request() sends the
// cookie to a server that has one unless told { auth: false }.
const signins = new Map();

/**
 * How much slower than usual the binary runs: PORTAL_TEST_SLOW (default 1),
 * set by the memcheck suite, where every process runs under valgrind. Every
 * wait of the harness (within, waitUntil and the helpers built on them) and
 * the file's time limit are multiplied by it.
 */
export const slow = Math.max(1, Number(process.env.PORTAL_TEST_SLOW ?? 1) || 1);

// --- What this file started, and how long it may take
//
// A setup that fails half-way (a sign-in refused after the server and an
// upstream stub were started) must neither leave a process behind nor keep
// the file, and the suite behind it, waiting. So every child process and
// every listening server of this process is registered by the call that
// starts it (ChildProcess.prototype.spawn and net.Server.prototype.listen are
// wrapped below), whoever calls it: the helpers here, a test's own spawn(),
// playwright's browser, a stub's http.createServer().listen(). Then:
// - when the file's tests are done (after), nothing registered holds the
//   process open any more; the file's own after() hooks still stop theirs;
// - when the process exits, registered children still running get SIGKILL;
// - when the file's time limit runs out (fileTimeLimit), the harness prints
//   the file, the waits still pending and what it stops, kills the children,
//   closes the servers and exits 1: a hang is reported, never waited out.
const children = new Map(); // ChildProcess -> "portal serve (pid N)"
const servers = new Map(); // net.Server -> its open connections
const waits = new Set(); // the waits pending now: { what }
// Marks what as being waited for; returns the function that unmarks it.
function waiting(what) {
  const w = { what };
  waits.add(w);
  return () => waits.delete(w);
}
const waitList = () => [...waits].map((w) => w.what).join('; ');
let ending = false; // the file's tests are done

function holdNot(child) {
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) s?.unref?.();
}

const spawnChild = ChildProcess.prototype.spawn;
ChildProcess.prototype.spawn = function spawnRegistered(options) {
  const r = spawnChild.call(this, options);
  if (this.pid !== undefined) {
    const argv = [path.basename(options.file), ...(options.args ?? []).slice(1, 2)].join(' ');
    children.set(this, `${argv} (pid ${this.pid})`);
    this.once('exit', () => children.delete(this));
    if (ending) holdNot(this);
  }
  return r;
};

const listenServer = net.Server.prototype.listen;
net.Server.prototype.listen = function listenRegistered(...args) {
  if (!servers.has(this)) {
    const conns = new Set();
    servers.set(this, conns);
    this.on('connection', (c) => {
      conns.add(c);
      c.once('close', () => conns.delete(c));
      if (ending) c.unref();
    });
    this.once('close', () => servers.delete(this));
  }
  const r = listenServer.apply(this, args);
  if (ending) this.unref();
  return r;
};

function serverName(s) {
  const a = s.address();
  return a && typeof a === 'object' ? `a server on ${a.address}:${a.port}` : 'a server';
}

// Ends the file because of why: prints it with the waits still pending,
// kills every registered child (a request still waiting on one then fails
// at once) and closes every registered server, then exits 1 once the test
// runner has had two seconds to report what that failed.
function giveUp(why) {
  const lines = [`${fileName}: ${why}`];
  lines.push(waits.size ? `  still waiting for: ${waitList()}`
    : '  waiting for nothing the harness knows of (a request, or a test\'s own await or timer)');
  for (const what of children.values()) lines.push(`  killed: ${what}`);
  for (const srv of servers.keys()) lines.push(`  closed: ${serverName(srv)}`);
  process.stderr.write(`${lines.join('\n')}\n`);
  stopAll();
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 2000);
}

// Kills every registered child and closes every registered server now.
function stopAll() {
  for (const c of children.keys()) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const [s, conns] of servers) {
    for (const c of conns) c.destroy();
    s.close();
  }
}

const fileName = process.argv[1] ? path.relative(root, process.argv[1]) : 'this test file';
let limitTimer;

/**
 * Sets this file's time limit to seconds (times PORTAL_TEST_SLOW), counted
 * from now. The default, from the harness's import, is PORTAL_TEST_FILE_LIMIT
 * seconds or 300. A file that needs longer says so at its top.
 */
export function fileTimeLimit(seconds) {
  clearTimeout(limitTimer);
  const s = Math.round(seconds * slow);
  // Unreferenced: it can only fire while something else holds the process.
  limitTimer = setTimeout(() => giveUp(`its time limit of ${s} s ran out`), s * 1000);
  limitTimer.unref();
}
fileTimeLimit(Number(process.env.PORTAL_TEST_FILE_LIMIT) || 300);

/**
 * Settles as promise does, or rejects naming the wait after ms (times
 * PORTAL_TEST_SLOW): "timed out after 20 s waiting for: <what>" (detail(),
 * when given, adds what was seen). While it waits, the file's time limit
 * names it too.
 */
export function within(what, ms, promise, detail) {
  const limit = ms * slow;
  const done = waiting(what);
  let t;
  const timeout = new Promise((_, reject) => {
    t = setTimeout(() => reject(new Error(`timed out after ${seconds(limit)} waiting for: ${what}${detail ? `; ${detail()}` : ''}`)), limit);
  });
  return Promise.race([promise, timeout]).finally(() => { clearTimeout(t); done(); });
}

/**
 * Polls fn (every `every` ms) until it returns a truthy value, which it
 * resolves with; rejects naming the wait after ms (times PORTAL_TEST_SLOW).
 */
export async function waitUntil(what, ms, fn, { every = 100, detail } = {}) {
  const limit = ms * slow;
  const deadline = Date.now() + limit;
  const done = waiting(what);
  try {
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out after ${seconds(limit)} waiting for: ${what}${detail ? `; ${detail()}` : ''}`);
      await new Promise((r) => setTimeout(r, every));
    }
  } finally {
    done();
  }
}

function seconds(ms) {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

export function binPath() {
  return path.resolve(root, process.env.PORTAL_BIN ?? 'build/portal');
}

// Environment for a child: ours minus any PORTAL_* that would leak in.
function childEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PORTAL_') || k === 'PORTAL_BIN') env[k] = v;
  delete env.PORTAL_BIN;
  return { ...env, ...extra };
}

export function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'portal-test-'));
}

/**
 * How long a command the harness runs synchronously (portal user add,
 * sqlite3, psql) may take, in ms: while it runs nothing else can, not even
 * the file's time limit.
 */
export const SYNC_MS = 60000 * slow;

const PG = process.env.PORTAL_TEST_PG ?? '';
/** True when the tests run against PostgreSQL (PORTAL_TEST_PG is set). */
export const onPg = PG !== '';

// Runs SQL with psql on url; stdout as `sqlite3` prints it (unaligned, `|`
// between columns, no header), and a failure throws with psql's message.
function psql(url, text) {
  return execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', text],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PGCONNECT_TIMEOUT: '10' }, timeout: SYNC_MS });
}

const schemas = [];
let schemaCount = 0;
function schemaOf(db) {
  return /[?&]options=-csearch_path%3D(\w+)/.exec(db)?.[1];
}

/** A postgres:// URL of the test cluster's database `name` (which may not exist). */
export function pgDatabaseUrl(name) {
  const u = new URL(PG);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * A database no one has used: on SQLite a path (not yet a file) in dir, on
 * PostgreSQL a URL whose search_path is a new, empty schema.
 */
export function freshDb(dir) {
  if (!onPg) return path.join(dir ?? tempDir(), 'portal.db');
  const schema = `it_${process.pid}_${Date.now().toString(36)}_${schemaCount++}`;
  psql(PG, `CREATE SCHEMA ${schema}`);
  schemas.push(schema);
  return `${PG}${PG.includes('?') ? '&' : '?'}options=-csearch_path%3D${schema}`;
}

/** Runs SQL on db behind portal's back (sqlite3 or psql); its output, trimmed. */
export function dbSql(db, text) {
  if (onPg) return psql(db, text).trim();
  return execFileSync('sqlite3', [db, text], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: SYNC_MS }).trim();
}

/** Everything db holds, as text (sqlite3's .dump, pg_dump of the schema). */
export function dbDump(db) {
  if (!onPg) return dbSql(db, '.dump');
  return execFileSync('pg_dump', ['-d', db, '-n', schemaOf(db)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: SYNC_MS });
}

/** Whether anything was ever written to db: the file exists / the schema has a table. */
export function dbTouched(db) {
  if (!onPg) return fs.existsSync(db);
  return dbSql(db, 'SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()') !== '0';
}

/**
 * Ruins db under a running portal: the SQLite file is swapped for bytes that
 * are no database, the PostgreSQL schema is renamed away. Returns restore().
 */
export function ruinDb(db) {
  if (onPg) {
    const schema = schemaOf(db);
    psql(PG, `ALTER SCHEMA ${schema} RENAME TO ${schema}_saved`);
    return () => psql(PG, `ALTER SCHEMA ${schema}_saved RENAME TO ${schema}`);
  }
  fs.renameSync(db, `${db}.saved`);
  fs.writeFileSync(db, 'this is not a database, just bytes '.repeat(200));
  return () => fs.renameSync(`${db}.saved`, db);
}

/** Takes db away under a running portal: the file is removed, the schema dropped. */
export function removeDb(db) {
  if (onPg) psql(PG, `DROP SCHEMA ${schemaOf(db)} CASCADE`);
  else fs.rmSync(db);
}

// Drops this process's schemas; a schema still locked by a portal that is
// going down is left to the throwaway cluster.
function dropSchemas() {
  if (!onPg || schemas.length === 0) return;
  const list = schemas.splice(0).map((s) => `${s}, ${s}_saved`).join(', ');
  try {
    psql(PG, `SET client_min_messages = warning; SET lock_timeout = '2s'; DROP SCHEMA IF EXISTS ${list} CASCADE`);
  } catch { /* left behind */ }
}

/**
 * Starts `portal serve`. Options: args (extra flags), env (extra variables),
 * config (YAML text written to portal.yaml and passed with --config), db (a
 * --db value; default freshDb(dir)), dir, timeoutMs,
 * signIn (default true: an admin account "test-admin" is created before the
 * server starts and signed in once it listens; request() then carries that
 * sign-in to this server unless called with { auth: false }).
 * Resolves once the server logs "listening"; rejects with its stderr if it
 * exits first.
 */
export async function startPortal(opts = {}) {
  const dir = opts.dir ?? tempDir();
  const db = opts.db ?? freshDb(dir);
  const configPath = path.join(dir, 'portal.yaml');
  const args = ['serve', '--listen', '127.0.0.1:0', '--db', db];
  const signIn = opts.signIn ?? true;
  // A database used before (a restart) already has the account.
  if (signIn) addUser(db, TEST_ADMIN, 'admin', TEST_PASSWORD, { existing: true });
  if (opts.config !== undefined) {
    fs.writeFileSync(configPath, opts.config);
    args.push('--config', configPath);
  }
  args.push(...(opts.args ?? []));
  const child = spawn(binPath(), args, { env: childEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let name = `portal serve (pid ${child.pid})`;

  const logs = [];
  const waiters = [];
  let stderr = '';
  let partial = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    partial += chunk;
    let nl;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      let obj;
      try { obj = JSON.parse(line); } catch { continue; }
      logs.push(obj);
      for (const w of [...waiters]) if (w.pred(obj)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(obj); }
    }
  });
  child.stdout.resume();
  const exited = exitOf(child, (e) => { stderr += `${e.message}\n`; });

  // The first log line pred accepts (seen), and drop() to stop looking.
  function logLine(pred) {
    const found = logs.find(pred);
    if (found) return { seen: Promise.resolve(found), drop() {} };
    const w = { pred };
    const seen = new Promise((resolve) => { w.resolve = resolve; });
    waiters.push(w);
    return { seen, drop: () => { if (waiters.includes(w)) waiters.splice(waiters.indexOf(w), 1); } };
  }
  // Resolves with the first log line pred accepts; what names the wait in
  // its error (ms times PORTAL_TEST_SLOW, as every wait here).
  function waitForLog(pred, ms = 10000, what = 'a matching log line') {
    const { seen, drop } = logLine(pred);
    return within(`${what} from ${name}`, ms, seen, () => `its stderr:\n${stderr}`).finally(drop);
  }

  const up = logLine((l) => l.msg === 'listening');
  const listening = await within(`the "listening" line from ${name}`, opts.timeoutMs ?? 15000, Promise.race([
    up.seen,
    exited.then(({ code, signal }) => {
      throw new Error(`portal exited (${code ?? signal}) before listening:\n${stderr}`);
    }),
  ]), () => `its stderr:\n${stderr}`).finally(up.drop);
  const port = Number(listening.listen.split(':').pop());
  name = `portal serve on 127.0.0.1:${port} (pid ${child.pid})`;
  const portal = {
    url: `http://127.0.0.1:${port}`,
    port, dir, db, configPath, process: child, logs, exited,
    stderr: () => stderr,
    waitForLog,
    // Sends a signal (SIGTERM by default) and resolves with the exit status;
    // SIGKILL after ms (times PORTAL_TEST_SLOW) if it has not exited by then.
    stop: (sig = 'SIGTERM', ms = 20000) => stopChild(child, exited, name, sig, ms),
    // Rewrites the config file and sends SIGHUP.
    reload(text) {
      fs.writeFileSync(configPath, text);
      child.kill('SIGHUP');
    },
  };
  if (signIn) {
    portal.session = await login(portal.url, TEST_ADMIN, TEST_PASSWORD);
    signins.set(portal.url, portal.session);
    exited.then(() => signins.delete(portal.url));
  }
  return portal;
}

/**
 * Starts `portal worker` on a server's database and configuration (extra
 * flags in args). Resolves once it logs "worker started"; stop() sends
 * SIGTERM and resolves with its exit status.
 */
export async function startWorker(portal, args = []) {
  const cfg = fs.existsSync(portal.configPath) ? ['--config', portal.configPath] : [];
  const child = spawn(binPath(), ['worker', '--db', portal.db, ...cfg, ...args],
    { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const name = `portal worker (pid ${child.pid})`;
  let stderr = '';
  const logs = [];
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    stderr += d;
    for (const line of d.split('\n')) { try { logs.push(JSON.parse(line)); } catch { /* partial */ } }
  });
  child.stdout.resume();
  const exited = exitOf(child, (e) => { stderr += `${e.message}\n`; });
  await waitUntil(`the "worker started" line from ${name}`, 15000, () => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
      throw new Error(`portal worker exited (${child.exitCode ?? child.signalCode}) before it started:\n${stderr}`);
    }
    return /worker started/.test(stderr);
  }, { every: 50, detail: () => `its stderr:\n${stderr}` });
  return {
    process: child, logs, exited, stderr: () => stderr,
    stop: (sig = 'SIGTERM', ms = 20000) => stopChild(child, exited, name, sig, ms),
  };
}

// Resolves with { code, signal } when child exits, or with the error's code
// when it could not be started (a PORTAL_BIN that is not there), after
// telling onError.
function exitOf(child, onError) {
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', (e) => { onError(e); resolve({ code: e.code ?? 'error', signal: null }); });
  });
}

// Sends sig to a child the harness started and resolves with its exit
// status; SIGKILL after ms (times PORTAL_TEST_SLOW), which the status shows.
async function stopChild(child, exited, name, sig, ms) {
  if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  const t = setTimeout(() => child.kill('SIGKILL'), ms * slow);
  const done = waiting(`${name} to exit on ${sig}`);
  try {
    return await exited;
  } finally {
    clearTimeout(t);
    done();
  }
}

export const TEST_ADMIN = 'test-admin';
export const TEST_PASSWORD = 'test-password-1234';

/** Creates a service token with `portal token create`; returns the token (printed once). */
export function createToken(db, name, scope = 'events:write') {
  const out = execFileSync(binPath(), ['token', 'create', '--name', name, '--scope', scope, '--db', db],
    { encoding: 'utf8', env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'], timeout: SYNC_MS });
  return out.trim().split('\n').pop();
}

/** Creates an account in db with `portal user add --password-stdin`. */
export function addUser(db, name, role, password, { existing = false } = {}) {
  const r = spawnSync(binPath(), ['user', 'add', '--name', name, '--role', role, '--password-stdin', '--db', db],
    { env: childEnv(), input: `${password}\n`, encoding: 'utf8', timeout: SYNC_MS });
  if (r.error) throw new Error(`portal user add ${name}: ${r.error.message}`);
  if (r.status !== 0 && !(existing && /already exists/.test(r.stderr))) throw new Error(`portal user add ${name} failed (${r.status}): ${r.stderr}`);
}

/** The cookies a response set, as name -> value. */
export function setCookies(res) {
  const out = {};
  const all = typeof res.headers.getSetCookie === 'function' ? res.headers.getSetCookie() : [];
  for (const c of all) {
    const [pair] = c.split(';');
    const eq = pair.indexOf('=');
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

/**
 * Signs in through the form, as a browser would: GET /login for the form's
 * token and cookie, then POST it. Resolves with { cookie, csrf, location }
 * ("portal_login=…", the CSRF token pages carry, where it landed).
 */
export function login(url, name, password, next = '/') {
  return within(`the sign-in as ${name} at ${url}`, 20000, signInNow(url, name, password, next));
}

async function signInNow(url, name, password, next) {
  // fetch() says only "fetch failed"; the cause says whether the server
  // refused, reset or did not answer.
  const fetch = (u, init) => fetchAgain(u, init).catch((e) => {
    throw new Error(`sign-in as ${name}: ${init?.method ?? 'GET'} ${u}: ${e.message}${e.cause ? ` (${e.cause.code ?? ''} ${e.cause.message})` : ''}`);
  });
  const form = await fetch(`${url}/login?next=${encodeURIComponent(next)}`, { redirect: 'manual' });
  const html = await form.text();
  const pre = setCookies(form).portal_pre;
  const token = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  const body = new URLSearchParams({ csrf: token ?? '', next, user: name, password });
  const res = await fetch(`${url}/login`, {
    method: 'POST', redirect: 'manual', body,
    headers: { Cookie: `portal_pre=${pre}`, 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  await res.text();
  const id = setCookies(res).portal_login;
  if (res.status !== 303 || !id) throw new Error(`sign-in as ${name} failed: ${res.status}`);
  const cookie = `portal_login=${id}`;
  const page = await (await fetch(`${url}/`, { headers: { Cookie: cookie } })).text();
  const csrf = /name="csrf-token" content="([^"]+)"/.exec(page)?.[1];
  return { cookie, csrf, location: res.headers.get('location') };
}

/**
 * fetch(), once more for a GET or HEAD whose pooled keep-alive connection
 * turns out closed before anything was answered. The harness runs some
 * commands synchronously (portal user add, sqlite3); while one runs, this
 * process reads no socket, and under valgrind that can outlast the server's
 * 30 s idle timeout: the next request then goes out on a connection the
 * server has already closed ("other side closed").
 */
async function fetchAgain(url, init = {}) {
  try {
    return await fetch(url, init);
  } catch (e) {
    const method = (init.method ?? 'GET').toUpperCase();
    if ((method !== 'GET' && method !== 'HEAD') || !/^(UND_ERR_SOCKET|ECONNRESET)$/.test(e.cause?.code ?? '')) throw e;
    return fetch(url, init);
  }
}

/**
 * fetch() with the body read as text and, when it parses, as JSON. A server
 * started with a sign-in gets its cookie (and, for writes, its CSRF token)
 * unless init.auth is false or init.headers already has a Cookie.
 */
export async function request(url, init = {}) {
  const { auth = true, ...rest } = init;
  const headers = { ...(rest.headers ?? {}) };
  const session = auth ? signins.get(new URL(url).origin) : undefined;
  if (session && !headers.Cookie && !headers.cookie) {
    headers.Cookie = session.cookie;
    if (rest.method && rest.method !== 'GET' && rest.method !== 'HEAD' && !headers['X-CSRF-Token']) headers['X-CSRF-Token'] = session.csrf;
  }
  const res = await fetchAgain(url, { redirect: 'manual', ...rest, headers });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: Object.fromEntries(res.headers), text, json };
}

/**
 * Debian's Chromium, headless, quiet (CHROMIUM_PATH overrides where it is).
 * playwright is loaded here, not on import: it takes seconds to load, and
 * only the browser tests need it.
 */
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A browser page (playwright) in a fresh context carrying portal's sign-in. */
export async function signedInPage(browser, portal) {
  const context = await browser.newContext();
  const value = portal.session.cookie.slice('portal_login='.length);
  await context.addCookies([{ name: 'portal_login', value, url: portal.url, httpOnly: true, sameSite: 'Lax' }]);
  return context.newPage();
}

/** Writes raw bytes to the port and returns everything the server sends back within ms (times PORTAL_TEST_SLOW). */
export function rawRequest(port, data, ms = 10000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let out = '';
    const t = setTimeout(() => { sock.destroy(); resolve(out); }, ms * slow);
    sock.setEncoding('latin1');
    sock.on('data', (d) => { out += d; });
    sock.on('error', (e) => { clearTimeout(t); if (out) resolve(out); else reject(e); });
    sock.on('close', () => { clearTimeout(t); resolve(out); });
    sock.write(data, 'latin1', () => sock.end());
  });
}

/** Anything AddressSanitizer or UBSan printed to the server's stderr. */
export function sanitizerReport(portal) {
  return portal.stderr().split('\n')
    .filter((l) => /ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: \w+Sanitizer/.test(l))
    .join('\n');
}

// When the file's tests are done nothing registered holds the process open:
// the file's own after() hooks (which run after this one) still stop what
// they started, stop() waiting on a timer of its own; whatever is left when
// the process exits is killed below. What still holds it a minute later (a
// request to a server that stopped answering) is given up on.
const LINGER_S = 60;
after(() => {
  ending = true;
  for (const c of children.keys()) holdNot(c);
  for (const [s, conns] of servers) {
    s.unref();
    for (const c of conns) c.unref();
  }
  setTimeout(() => giveUp(`still held open ${LINGER_S * slow} s after its tests ended`), LINGER_S * slow * 1000).unref();
});
process.on('exit', () => {
  for (const c of children.keys()) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  dropSchemas();
});
// The suite's timeout (or a person's ^C) stops the file: its children first.
for (const [sig, n] of [['SIGTERM', 15], ['SIGINT', 2], ['SIGHUP', 1]]) {
  process.once(sig, () => {
    process.stderr.write(`${fileName}: stopped by ${sig}${waits.size ? ` while waiting for: ${waitList()}` : ''}\n`);
    stopAll();
    process.exit(128 + n);
  });
}
