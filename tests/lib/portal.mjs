// The test harness: starts the real `portal` binary on a free loopback port
// with a temporary database, reads its JSON log lines, and stops it with a
// signal. PORTAL_BIN selects the build (build/portal or build-san/portal).
// PORTAL_TEST_PG (a postgres:// URL of a throwaway cluster, as
// scripts/pg-temp.sh prints) selects the store: each database a test asks
// for is then a fresh schema there, named in the URL (search_path), instead
// of a temporary SQLite file; the schemas go when the test file's process
// ends. Either way the value is what `--db` gets (portal.db).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const running = new Set();
// Sign-ins of the servers started here, by origin: request() sends the
// cookie to a server that has one unless told { auth: false }.
const signins = new Map();

/**
 * How much slower than usual the binary runs: PORTAL_TEST_SLOW (default 1),
 * set by the memcheck suite, where every process runs under valgrind. Waits
 * for a process to start or to log something are multiplied by it.
 */
export const slow = Math.max(1, Number(process.env.PORTAL_TEST_SLOW ?? 1) || 1);

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

const PG = process.env.PORTAL_TEST_PG ?? '';
/** True when the tests run against PostgreSQL (PORTAL_TEST_PG is set). */
export const onPg = PG !== '';

// Runs SQL with psql on url; stdout as `sqlite3` prints it (unaligned, `|`
// between columns, no header), and a failure throws with psql's message.
function psql(url, text) {
  return execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', text],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PGCONNECT_TIMEOUT: '10' } });
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
  return execFileSync('sqlite3', [db, text], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Everything db holds, as text (sqlite3's .dump, pg_dump of the schema). */
export function dbDump(db) {
  if (!onPg) return dbSql(db, '.dump');
  return execFileSync('pg_dump', ['-d', db, '-n', schemaOf(db)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
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
  running.add(child);

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
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    running.delete(child);
    resolve({ code, signal });
  }));

  function waitForLog(pred, ms = 10000 * slow) {
    const found = logs.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      waiters.push(w);
      const t = setTimeout(() => {
        waiters.splice(waiters.indexOf(w), 1);
        reject(new Error(`no matching log line within ${ms} ms; stderr:\n${stderr}`));
      }, ms);
      const done = w.resolve;
      w.resolve = (v) => { clearTimeout(t); done(v); };
    });
  }

  const listening = await Promise.race([
    waitForLog((l) => l.msg === 'listening', (opts.timeoutMs ?? 15000) * slow),
    exited.then(({ code, signal }) => {
      throw new Error(`portal exited (${code ?? signal}) before listening:\n${stderr}`);
    }),
  ]);
  const port = Number(listening.listen.split(':').pop());
  const portal = {
    url: `http://127.0.0.1:${port}`,
    port, dir, db, configPath, process: child, logs, exited,
    stderr: () => stderr,
    waitForLog,
    // Sends a signal (SIGTERM by default) and resolves with the exit status.
    async stop(sig = 'SIGTERM', ms = 20000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      const t = setTimeout(() => child.kill('SIGKILL'), ms);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
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
  running.add(child);
  let stderr = '';
  const logs = [];
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    stderr += d;
    for (const line of d.split('\n')) { try { logs.push(JSON.parse(line)); } catch { /* partial */ } }
  });
  child.stdout.resume();
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => { running.delete(child); resolve({ code, signal }); }));
  const deadline = Date.now() + 15000 * slow;
  while (!/worker started/.test(stderr)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`portal worker did not start:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    process: child, logs, exited, stderr: () => stderr,
    async stop(sig = 'SIGTERM', ms = 20000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      const t = setTimeout(() => child.kill('SIGKILL'), ms);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

export const TEST_ADMIN = 'test-admin';
export const TEST_PASSWORD = 'test-password-1234';

/** Creates a service token with `portal token create`; returns the token (printed once). */
export function createToken(db, name, scope = 'events:write') {
  const out = execFileSync(binPath(), ['token', 'create', '--name', name, '--scope', scope, '--db', db],
    { encoding: 'utf8', env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  return out.trim().split('\n').pop();
}

/** Creates an account in db with `portal user add --password-stdin`. */
export function addUser(db, name, role, password, { existing = false } = {}) {
  const r = spawnSync(binPath(), ['user', 'add', '--name', name, '--role', role, '--password-stdin', '--db', db],
    { env: childEnv(), input: `${password}\n`, encoding: 'utf8' });
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
export async function login(url, name, password, next = '/') {
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
  const res = await fetch(url, { redirect: 'manual', ...rest, headers });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: Object.fromEntries(res.headers), text, json };
}

/** Debian's Chromium, headless, quiet (CHROMIUM_PATH overrides where it is). */
export function launchBrowser() {
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

/** Writes raw bytes to the port and returns everything the server sends back. */
export function rawRequest(port, data, ms = 10000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let out = '';
    const t = setTimeout(() => { sock.destroy(); resolve(out); }, ms);
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

// A test that failed before stopping what it started would otherwise keep its
// file's process alive (and the suite waiting) for ever. When the file's
// tests are done, the children stop holding the process open: the file's own
// after() hooks still stop theirs (stop() waits on a timer of its own), and
// whatever is left when the process exits is killed below.
after(() => {
  for (const c of running) {
    c.unref();
    c.stdout?.unref?.();
    c.stderr?.unref?.();
  }
});
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
  dropSchemas();
});
