// The test harness: starts the real `portal` binary on a free loopback port
// with a temporary database, reads its JSON log lines, and stops it with a
// signal. PORTAL_BIN selects the build (build/portal or build-san/portal).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const running = new Set();

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
 * Starts `portal serve`. Options: args (extra flags), env (extra variables),
 * config (YAML text written to portal.yaml and passed with --config), db (a
 * path; default a fresh file in the temporary directory), dir, timeoutMs.
 * Resolves once the server logs "listening"; rejects with its stderr if it
 * exits first.
 */
export async function startPortal(opts = {}) {
  const dir = opts.dir ?? tempDir();
  const db = opts.db ?? path.join(dir, 'portal.db');
  const configPath = path.join(dir, 'portal.yaml');
  const args = ['serve', '--listen', '127.0.0.1:0', '--db', db];
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

  function waitForLog(pred, ms = 10000) {
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
    waitForLog((l) => l.msg === 'listening', opts.timeoutMs ?? 15000),
    exited.then(({ code, signal }) => {
      throw new Error(`portal exited (${code ?? signal}) before listening:\n${stderr}`);
    }),
  ]);
  const port = Number(listening.listen.split(':').pop());
  return {
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
}

/** fetch() with the body read as text and, when it parses, as JSON. */
export async function request(url, init = {}) {
  const res = await fetch(url, { redirect: 'manual', ...init });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: Object.fromEntries(res.headers), text, json };
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

process.on('exit', () => { for (const c of running) c.kill('SIGKILL'); });
