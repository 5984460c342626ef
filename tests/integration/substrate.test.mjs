// Substrate and contracts: the prober against real loopback servers, health
// reaching pages through the projection, the owned/integrated split, launch
// guidance, and the promises users rely on: no internal or executor URL and
// no secret ever reaches a browser or a log line, and no page speaks in
// stack-local lifecycle nouns.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { startPortal, request, sanitizerReport, binPath, tempDir, freshDb, slow } from '../lib/portal.mjs';

const servers = [];
let portal, closedPort;
const SECRET = 'api-bearer-7f3c1d';

function serve(handler) {
  const s = http.createServer(handler);
  servers.push(s);
  return new Promise((ok) => s.listen(0, '127.0.0.1', () => ok(s.address().port)));
}

// A port nothing listens on, on 127.0.0.2: the portal listens on 127.0.0.1,
// so the kernel cannot hand the same address to it later (its own address
// in its log would then read as a leaked internal URL).
async function freePort() {
  const s = net.createServer();
  await new Promise((ok) => s.listen(0, '127.0.0.2', ok));
  const { port } = s.address();
  await new Promise((ok) => s.close(ok));
  return port;
}

let ports;
before(async () => {
  ports = {
    grid: await serve((req, res) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('{"value":{"ready":true,"message":"Selenium Grid ready."}}'); }),
    api: await serve((req, res) => {
      const ok = req.headers.authorization === `Bearer ${SECRET}`;
      res.writeHead(ok ? 200 : 401); res.end(ok ? '{"status":"ok"}' : 'no');
    }),
    nexus: await serve((req, res) => { res.writeHead(401); res.end(); }),
    headlamp: await serve((req, res) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('{"value":{"ready":false}}'); }),
  };
  closedPort = await freePort();
  // Probe times stretch with PORTAL_TEST_SLOW: under valgrind even a refused
  // connection takes longer than 150 ms to be seen.
  const health = (path, extra = '') => `{path: ${path}, expect_status: 200, interval_ms: ${200 * slow}, timeout_ms: ${150 * slow}, slow_ms: ${150 * slow}${extra}}`;
  const config = `server:
  mode: dev
components:
  - name: playwright-grid
    title: Playwright grid
    role: browsers for end-to-end checks
    ownership: owned
    public_url: https://grid.example.org/ui
    internal_url: http://127.0.0.1:${ports.grid}
    executor_url: http://grid-executor.internal:4444
    health: ${health('/status', ', body_path: value.ready, body_equals: "true"')}
    launch:
      opens: the Selenium Grid console
      sign_in: nowhere; the console is read-only
      needs: the FractalOps VPN
      on_failure: tell the grid owners in #grid
  - name: api
    title: FractalOps API
    ownership: owned
    public_url: https://api.example.org/docs
    internal_url: http://127.0.0.1:${ports.api}
    auth: {kind: bearer, secret: api_token}
    health: ${health('/health')}
  - name: nexus
    title: Nexus
    ownership: endpoint
    public_url: https://nexus.example.org
    internal_url: http://127.0.0.1:${ports.nexus}
    health: ${health('/service/rest/v1/status')}
  - name: penpot
    title: Penpot
    ownership: endpoint
    public_url: https://penpot.example.org
    internal_url: http://127.0.0.2:${closedPort}
    health: ${health('/readyz')}
  - name: headlamp
    title: Headlamp
    ownership: endpoint
    internal_url: http://127.0.0.1:${ports.headlamp}
    health: ${health('/', ', body_path: value.ready, body_equals: "true"')}
secrets:
  api_token: env:API_TOKEN
`;
  const dir = tempDir();
  const db = freshDb(dir);
  execFileSync(binPath(), ['demo', '--db', db], { env: { PATH: process.env.PATH } });
  portal = await startPortal({ dir, db, config, env: { API_TOKEN: SECRET } });
});

after(async () => {
  const { code } = await portal.stop();
  for (const s of servers) s.close();
  assert.equal(code, 0);
  assert.equal(sanitizerReport(portal), '');
});

async function healthNow() {
  const p = (await request(`${portal.url}/api/v1/projection`)).json;
  return Object.fromEntries(p.health.map((c) => [c.name, c]));
}

test('the prober reports each state, through the projection', async () => {
  const want = { 'playwright-grid': 'up', api: 'up', nexus: 'auth', penpot: 'down', headlamp: 'degraded' };
  let h;
  for (let i = 0; i < 100 * slow; i++) {
    h = await healthNow();
    if (Object.entries(want).every(([k, v]) => h[k]?.state === v)) break;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  for (const [k, v] of Object.entries(want)) assert.equal(h[k]?.state, v, `${k}: ${JSON.stringify(h[k])}`);
  assert.match(h.nexus.detail, /401/);
  assert.match(h.penpot.detail, /refused/);
  assert.match(h.headlamp.detail, /value\.ready/);
});

test('/substrate separates owned from integrated and launches only public URLs', async () => {
  const r = await request(`${portal.url}/substrate`, { headers: { Accept: 'text/html' } });
  assert.equal(r.status, 200);
  const owned = r.text.slice(r.text.indexOf('id="owned"'), r.text.indexOf('id="endpoints"'));
  const endpoints = r.text.slice(r.text.indexOf('id="endpoints"'));
  assert.match(owned, /Owned by FractalOps/);
  assert.match(owned, /data-component="playwright-grid"/);
  assert.doesNotMatch(owned, /data-component="nexus"/);
  assert.match(endpoints, /Integrated endpoints/);
  assert.match(endpoints, /lifecycle is managed elsewhere/);
  assert.match(endpoints, /data-component="nexus"[\s\S]*?data-state="auth"/);
  assert.match(r.text, /<a class="launch" href="https:\/\/grid\.example\.org\/ui" target="_blank" rel="noopener noreferrer">/);
  assert.match(r.text, /data-secret="present"/, 'the api secret is reported present');
  const main = r.text.slice(r.text.indexOf('<main'), r.text.indexOf('</main>'));
  assert.doesNotMatch(main, /<(form|button)\b/, 'no controls of any kind (the header holds only sign-out)');
});

test('/launch/<component> gives browser-first guidance; an unknown one is a recovery view', async () => {
  const r = await request(`${portal.url}/launch/playwright-grid`, { headers: { Accept: 'text/html' } });
  assert.equal(r.status, 200);
  for (const t of ['What will open', 'the Selenium Grid console', 'Where you will sign in', 'What you need first', 'the FractalOps VPN', 'When it fails'])
    assert.ok(r.text.includes(t), t);
  const none = await request(`${portal.url}/launch/headlamp`, { headers: { Accept: 'text/html' } });
  assert.match(none.text, /data-recovery-class="contract"/, 'no public URL is a contract gap');
  assert.equal(none.status, 424, "a launch with nothing to open is a failed dependency on its contract");
  const unknown = await request(`${portal.url}/launch/nothing-here`, { headers: { Accept: 'text/html' } });
  assert.equal(unknown.status, 404);
  assert.match(unknown.text, /data-recovery-class="product"/);
});

test('no internal or executor URL and no secret reaches any response or log line', async () => {
  const forbidden = [
    ...Object.values(ports).map((p) => `127.0.0.1:${p}`), `127.0.0.2:${closedPort}`,
    'grid-executor.internal', SECRET,
  ];
  const paths = ['/', '/operator', '/substrate', '/launch/playwright-grid', '/launch/api', '/launch/nexus',
    '/launch/penpot', '/launch/headlamp', '/debug/history', '/api/v1/projection', '/api/v1/projection/sessions?limit=500',
    '/metrics', '/readyz', '/healthz', '/api/v1/openapi.json', '/no/such/page'];
  const bodies = [];
  for (const p of paths) {
    const r = await request(`${portal.url}${p}`, { headers: { Accept: 'text/html' } });
    bodies.push([p, r.text + JSON.stringify(r.headers)]);
  }
  const ac = new AbortController();
  const stream = await fetch(`${portal.url}/api/v1/stream`, { signal: ac.signal, headers: { Cookie: portal.session.cookie } });
  const reader = stream.body.getReader();
  const first = await reader.read();
  ac.abort();
  bodies.push(['/api/v1/stream', new TextDecoder().decode(first.value)]);
  bodies.push(['server log', portal.stderr()]);
  for (const [where, text] of bodies)
    for (const f of forbidden) assert.ok(!text.includes(f), `${where} contains ${f}`);
});

const nouns = ['restart', 'redeploy', 'deploy button', 'scale up', 'scale down', 'scaling', 'pod', 'pods', 'container',
    'containers', 'compose', 'kubectl', 'helm', 'docker', 'rollout', 'replicaset', 'daemonset', 'start', 'stop'];

async function assertVocabulary(base, pages) {
  for (const p of pages) {
    const r = await request(`${base}${p}`, { headers: { Accept: 'text/html' } });
    const text = r.text.replace(/<script[\s\S]*?<\/script>/g, ' ').replace(/<[^>]+>/g, ' ').replace(/&[a-z#0-9]+;/g, ' ').toLowerCase();
    for (const n of nouns) assert.doesNotMatch(text, new RegExp(`\\b${n}\\b`), `${p} says "${n}"`);
  }
}

test('no page uses stack-local lifecycle nouns as product vocabulary', async () => {
  const pages = ['/', '/operator', '/substrate', '/debug/history', '/no/such/page',
    ...['playwright-grid', 'api', 'nexus', 'penpot', 'headlamp'].map((c) => `/launch/${c}`)];
  await assertVocabulary(portal.url, pages);
});

test('the shipped catalogue renders in the same language', async () => {
  const text = fs.readFileSync('config/portal.example.yaml', 'utf8');
  const names = [...text.matchAll(/^  - name: (\S+)$/gm)].map((m) => m[1]);
  assert.ok(names.length >= 14);
  const p = await startPortal({ config: text.replace(/^  listen: .*$/m, '  listen: 127.0.0.1:0') });
  try {
    await assertVocabulary(p.url, ['/substrate', ...names.map((n) => `/launch/${n}`)]);
  } finally {
    assert.equal((await p.stop()).code, 0);
  }
});

