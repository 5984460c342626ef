// The project, session and signed-out pages over the demo data set, with a
// configuration that declares projects, components and secrets: the stage a
// project's contracts put it in, the compact session view, recovery views
// for unknown addresses, and what the signed-out overview must never show.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { startPortal, request, sanitizerReport, binPath, tempDir, freshDb, slow } from '../lib/portal.mjs';

const SECRET = 'daytona-key-4b9e21f0';
const servers = [];
let portal, ports;

function serve(handler) {
  const s = http.createServer(handler);
  servers.push(s);
  return new Promise((ok) => s.listen(0, '127.0.0.1', () => ok(s.address().port)));
}

async function freePort() {
  const s = net.createServer();
  await new Promise((ok) => s.listen(0, '127.0.0.1', ok));
  const { port } = s.address();
  await new Promise((ok) => s.close(ok));
  return port;
}

// Every page fetch goes through these two, so signing a test user in is a
// change in one place: `get` for pages a signed-in person opens, `getPublic`
// for what anyone may open.
async function get(path) {
  return request(`${portal.url}${path}`, { headers: { Accept: 'text/html' } });
}
async function getPublic(path) {
  return request(`${portal.url}${path}`, { headers: { Accept: 'text/html' }, auth: false });
}

// The part of a page between <main> and </main>.
function main(text) {
  return text.slice(text.indexOf('<main'), text.indexOf('</main>'));
}

before(async () => {
  ports = {
    up: await serve((req, res) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('{"status":"ok"}'); }),
    down: await freePort(),
  };
  // Probe times stretch with PORTAL_TEST_SLOW, as waits do.
  const health = `{path: /health, expect_status: 200, interval_ms: ${200 * slow}, timeout_ms: ${150 * slow}, slow_ms: ${150 * slow}}`;
  const config = `server:
  mode: dev
components:
  - name: daytona
    title: Daytona
    ownership: owned
    public_url: https://daytona.example.org/dashboard
    internal_url: http://127.0.0.1:${ports.up}
    executor_url: http://daytona-executor.internal:3000
    auth: {kind: bearer, secret: daytona_api_key}
    health: ${health}
  - name: playwright-grid
    title: Playwright grid
    ownership: owned
    internal_url: http://127.0.0.1:${ports.up}/grid
    health: ${health}
  - name: execution-runtime
    title: Execution runtime
    ownership: owned
    internal_url: http://127.0.0.1:${ports.up}/runtime
    health: ${health}
  - name: temporal
    title: Temporal
    ownership: owned
    internal_url: http://127.0.0.1:${ports.down}
    auth: {kind: bearer, secret: temporal_token}
    health: ${health}
  - name: hasura
    title: Hasura
    ownership: owned
    internal_url: http://127.0.0.1:${ports.up}/hasura
    auth: {kind: bearer, secret: hasura_admin}
    health: ${health}
  - name: nexus
    title: Nexus
    ownership: endpoint
    public_url: https://nexus.example.org
    internal_url: http://127.0.0.1:${ports.down}/nexus
    health: ${health}
secrets:
  daytona_api_key: env:DAYTONA_KEY
  temporal_token: env:TEMPORAL_TOKEN
  atlas-deploy-key: env:ATLAS_DEPLOY_KEY
  hasura_admin: env:HASURA_ADMIN
projects:
  - name: atlas
    title: Atlas
    summary: the customer-facing map service
    components: [daytona, playwright-grid]
    secrets: [atlas-deploy-key]
  - name: chronicle
    title: Chronicle
    summary: evidence records for every proposal
    components: [daytona, temporal]
  - name: penpot-bridge
    title: Penpot bridge
    components: [playwright-grid, nexus]
  - name: ledger
    title: Ledger
    components: [hasura]
  - name: greenfield
    title: Greenfield
    summary: a project nobody has started on yet
    components: [execution-runtime]
`;
  const dir = tempDir();
  const db = freshDb(dir);
  execFileSync(binPath(), ['demo', '--db', db], { env: { PATH: process.env.PATH } });
  portal = await startPortal({ dir, db, config, env: { DAYTONA_KEY: SECRET, TEMPORAL_TOKEN: `${SECRET}-t` } });
  // Wait until the prober has reported temporal down and daytona up.
  for (let i = 0; i < 100 * slow; i++) {
    const p = (await request(`${portal.url}/api/v1/projection`)).json;
    const h = Object.fromEntries((p?.health ?? []).map((c) => [c.name, c.state]));
    if (h.temporal === 'down' && h.daytona === 'up' && h.nexus === 'down') break;
    await new Promise((ok) => setTimeout(ok, 100));
  }
});

after(async () => {
  const { code } = await portal.stop();
  for (const s of servers) s.close();
  assert.equal(code, 0);
  assert.equal(sanitizerReport(portal), '');
});

// The stage marked current on a project page, and its blocker class.
function stageOf(text) {
  const current = text.match(/<li data-stage="([a-z]+)" class="current" aria-current="step">/);
  const blocker = text.match(/id="stage"[^>]*data-blocker="([a-z]+)"/);
  return { stage: current?.[1], blocker: blocker?.[1] };
}

test('a project whose own secret is missing is in recovery with a contract blocker naming it', async () => {
  const r = await get('/projects/atlas');
  assert.equal(r.status, 200);
  const m = main(r.text);
  assert.match(m, /<h1>Atlas<\/h1>/);
  assert.match(m, /the customer-facing map service/);
  assert.deepEqual(stageOf(m), { stage: 'recovery', blocker: 'contract' });
  assert.match(m, /secret atlas-deploy-key is missing/);
  for (const s of ['onboarding', 'work', 'proposal', 'proof', 'recovery'])
    assert.match(m, new RegExp(`<li data-stage="${s}"`), `stage ${s} is shown`);
  assert.equal((m.match(/aria-current="step"/g) ?? []).length, 1, 'one current stage');
});

test('a project page shows its components with ownership, health and launch links', async () => {
  const m = main((await get('/projects/atlas')).text);
  const comps = m.slice(m.indexOf('id="components"'), m.indexOf('id="validation"'));
  assert.match(comps, /data-component="daytona"[\s\S]*?owned by FractalOps[\s\S]*?data-state="up"[\s\S]*?href="\/launch\/daytona"/);
  assert.match(comps, /data-component="playwright-grid"[\s\S]*?href="\/launch\/playwright-grid"/);
  assert.doesNotMatch(comps, /data-component="temporal"/);
});

test('validation lists each required secret by name and state, never its value', async () => {
  const r = await get('/projects/atlas');
  const v = r.text.slice(r.text.indexOf('id="validation"'), r.text.indexOf('id="next"'));
  assert.match(v, /data-secret="atlas-deploy-key" data-ok="no"[\s\S]*?data-secret="missing"/);
  assert.match(v, /data-secret="daytona_api_key" data-ok="yes"[\s\S]*?\(credential of daytona\)[\s\S]*?data-secret="present"/);
  assert.match(v, /env ATLAS_DEPLOY_KEY is not set/, 'says where the secret should come from');
  assert.ok(!r.text.includes(SECRET), 'no secret value');
});

test('next actions are same-origin links: the unmet contract, the operator view, the substrate', async () => {
  const m = main((await get('/projects/atlas')).text);
  const next = m.slice(m.indexOf('id="next"'), m.indexOf('id="sessions-h"'));
  assert.match(next, /<a href="\/projects\/atlas#validation">Provide secret atlas-deploy-key \(missing\), then reload Portal/);
  assert.match(next, /<a href="\/operator">/);
  assert.match(next, /<a href="\/substrate">/);
  for (const [, href] of next.matchAll(/href="([^"]*)"/g)) assert.match(href, /^\/[^/]/, href);
});

test('a project page lists its sessions, those needing attention first, linking each', async () => {
  const m = main((await get('/projects/atlas')).text);
  const ids = [...m.matchAll(/<a href="\/sessions\/(s-atlas-\d\d)">/g)].map((x) => x[1]);
  assert.equal(new Set(ids).size, 10, 'every atlas session');
  const rows = [...m.matchAll(/<tr data-status="([a-z]+)">/g)].map((x) => x[1]);
  const rank = { blocked: 0, running: 1, idle: 2, ended: 3 };
  assert.deepEqual(rows, [...rows].sort((a, b) => rank[a] - rank[b]));
  assert.doesNotMatch(m, /s-chronicle-/, 'only its own sessions');
});

test('a missing component credential is flagged beside its launch contract but does not block the project', async () => {
  const m = main((await get('/projects/ledger')).text);
  assert.notEqual(stageOf(m).blocker, 'contract', 'Portal\'s probe credential is not the project\'s contract');
  assert.match(m, /data-secret="hasura_admin" data-ok="no">Secret <code>hasura_admin<\/code> \(credential of hasura\)/);
  assert.match(m, /<a href="\/launch\/hasura">Provide secret hasura_admin \(missing\) for hasura, then reload Portal/);
});

test('an owned component that is down puts the project in recovery with a dependency blocker', async () => {
  const m = main((await get('/projects/chronicle')).text);
  assert.deepEqual(stageOf(m), { stage: 'recovery', blocker: 'dependency' });
  assert.match(m, /owned component temporal is down/);
  assert.match(m, /<a href="\/launch\/temporal">Check temporal: its health and launch guidance<\/a>/);
});

test('an integrated endpoint that is down does not block: the projection stage stands', async () => {
  const m = main((await get('/projects/penpot-bridge')).text);
  assert.match(m, /data-component="nexus"[\s\S]*?integrated endpoint[\s\S]*?data-state="down"/);
  assert.deepEqual(stageOf(m), { stage: 'proposal', blocker: 'none' });
  assert.match(m, /1 proposal moving through approval and execution/);
});

test('a declared project with no events yet is onboarding, and says where to launch', async () => {
  const r = await get('/projects/greenfield');
  assert.equal(r.status, 200);
  const m = main(r.text);
  assert.deepEqual(stageOf(m), { stage: 'onboarding', blocker: 'none' });
  assert.match(m, /no events yet: launch the first session on execution-runtime/);
  assert.match(m, /<a href="\/launch\/execution-runtime">Launch the first session on execution-runtime<\/a>/);
  assert.match(m, /No sessions yet/);
});

test('a project named by events but not by the configuration is flagged, and follows the projection', async () => {
  const r = await get('/projects/nexus-sync');
  assert.equal(r.status, 200);
  const m = main(r.text);
  assert.match(m, /data-check="declared" data-ok="no"><span class="flag">not declared in the configuration/);
  assert.deepEqual(stageOf(m), { stage: 'recovery', blocker: 'contract' });
  assert.match(m, /2 blocked sessions to clear \(1 contract, 1 product\)/);
  assert.match(m, /<a href="\/sessions\/s-nexus-sync-07">Clear blocked session s-nexus-sync-07/);
});

test('an unknown project is a product recovery view with a way on', async () => {
  const r = await get('/projects/no-such-project');
  assert.equal(r.status, 404);
  assert.match(r.text, /data-recovery-class="product"/);
  assert.match(r.text, /No such project/);
  assert.match(r.text, /<a href="\/">/);
});

test('a session page has exactly the five compact blocks and the snapshot version', async () => {
  const r = await get('/sessions/s-atlas-03');
  assert.equal(r.status, 200);
  const m = main(r.text);
  const blocks = [...m.matchAll(/<section class="panel block" id="([a-z-]+)">/g)].map((x) => x[1]);
  assert.deepEqual(blocks, ['continuity', 'lineage', 'launch', 'first-tool', 'next-step']);
  assert.equal((m.match(/<section/g) ?? []).length, 5, 'nothing more');
  const version = (await request(`${portal.url}/api/v1/projection`)).json.version;
  const shown = Number(m.match(/id="session" data-version="(\d+)"/)[1]);
  assert.ok(shown > 0 && shown <= version, `${shown} ≤ ${version}`);
  assert.match(m, new RegExp(`<strong id="version">v${shown}</strong>`));
  assert.match(m, /<aside[^>]*>[\s\S]*?<a href="\/debug\/history">/);
});

test('a session page shows continuity, lineage and launch contract with links', async () => {
  const m = main((await get('/sessions/s-atlas-03')).text);
  const cont = m.slice(m.indexOf('id="continuity"'), m.indexOf('id="lineage"'));
  assert.match(cont, /<a href="\/sessions\/s-atlas-01">s-atlas-01<\/a> → <a href="\/sessions\/s-atlas-02">s-atlas-02<\/a> → this session/);
  assert.match(cont, /<dt>Resumed by<\/dt><dd>—<\/dd>/, 'the end of its chain');
  assert.match(cont, /<dt>Started<\/dt><dd><time datetime="\d{4}-/);
  const lin = m.slice(m.indexOf('id="lineage"'), m.indexOf('id="launch"'));
  assert.match(lin, /fractalops\/atlas/);
  assert.match(lin, /ATL-412/);
  assert.match(m.slice(m.indexOf('id="launch"')), /<a href="\/launch\/daytona">Daytona<\/a>[\s\S]*?data-launch="ok"/);
  const before = main((await get('/sessions/s-atlas-02')).text);
  assert.match(before, /<dt>Resumed by<\/dt><dd><a href="\/sessions\/s-atlas-03">s-atlas-03<\/a>/);
  const child = main((await get('/sessions/s-atlas-07')).text);
  assert.match(child, /<dt>Parent session<\/dt><dd><a href="\/sessions\/s-atlas-03">s-atlas-03<\/a>/);
});

test('a session page tells an access blocker apart from a failure', async () => {
  const m = main((await get('/sessions/s-fractalops-02')).text);
  assert.match(m, /data-status="blocked"/);
  assert.match(m, /data-blocker="auth">auth blocker \(access, not a failure\)/);
  assert.match(m.slice(m.indexOf('id="next-step"')), /Sign in or request access, then resume/);
});

test('a session page shows no tool-by-tool history', async () => {
  const projection = (await request(`${portal.url}/api/v1/projection`)).json;
  const s = projection.sessions.find((x) => x.id === 's-atlas-03');
  const m = main((await get('/sessions/s-atlas-03')).text);
  assert.ok(s.last_tool && !m.includes(s.last_tool), `the last tool (${s.last_tool}) is not listed`);
  assert.match(m, new RegExp(`<p class="big">${s.first_tool_family}</p>`));
});

test('an unknown session is a product recovery view leading back to the operator view', async () => {
  const r = await get('/sessions/no-such-session');
  assert.equal(r.status, 404);
  assert.match(r.text, /data-recovery-class="product"/);
  assert.match(r.text, /<a href="\/operator">/);
});

test('the home page lists every declared project with its stage, linking each; one only events name is under Validation', async () => {
  const m = main((await get('/')).text);
  const spine = m.slice(m.indexOf('id="spine"'), m.indexOf('</section>', m.indexOf('id="spine"')));
  for (const [name, stage] of [['atlas', 'recovery'], ['chronicle', 'recovery'], ['greenfield', 'onboarding'],
    ['penpot-bridge', 'proposal']]) {
    assert.match(spine, new RegExp(`<li data-project="${name}" data-stage="${stage}"><a class="name" href="/projects/${name}">`), name);
  }
  for (const name of ['nexus-sync', 'fractalops']) {
    assert.doesNotMatch(spine, new RegExp(`data-project="${name}"`), `${name} is not a step of the spine`);
    assert.match(m, new RegExp(`<li data-undeclared="${name}"><a class="name" href="/projects/${name}">${name}</a>: <span class="flag">not declared in portal.yaml</span>`));
  }
  assert.ok(spine.indexOf('data-project="atlas"') < spine.indexOf('data-project="chronicle"'), 'sorted by name');
  assert.ok(m.indexOf('id="spine"') < m.indexOf('class="stages"'), 'above the stage descriptions');
});

test('/welcome is public and shows the spine, continuity, validation and next actions', async () => {
  const r = await getPublic('/welcome');
  assert.equal(r.status, 200);
  const m = main(r.text);
  assert.match(m, /<li data-project="atlas" data-stage="recovery"><span class="name">Atlas<\/span>[\s\S]*?contract blocker[\s\S]*?a required secret is not present/);
  assert.match(m, /<li data-project="greenfield" data-stage="onboarding">/);
  const count = (key) => Number(m.match(new RegExp(`data-count="${key}"><strong>(\\d+)</strong>`))?.[1]);
  const projection = (await request(`${portal.url}/api/v1/projection`)).json;
  assert.equal(count('sessions'), projection.sessions.length);
  for (const st of ['running', 'blocked', 'idle', 'ended'])
    assert.equal(count(st), projection.sessions.filter((s) => s.status === st).length, st);
  const chains = projection.sessions.filter((s) => s.continuity.resumed_from && !s.continuity.resumed_by).length;
  assert.equal(count('chains'), chains);
  assert.equal(chains, 6, 'the demo data has six resumed chains');
  assert.equal(count('components'), 6);
  assert.equal(count('owned'), 5);
  assert.equal(count('endpoints'), 1);
  assert.equal(count('secrets'), 4);
  assert.equal(count('present'), 2);
  assert.equal(count('missing'), 2);
  assert.equal(count('projects'), 5);
  assert.equal(count('undeclared'), 2, 'nexus-sync and fractalops');
  assert.equal(count('problems'), 1, 'hasura_admin, as portal check counts it; atlas-deploy-key only a project lists');
  assert.match(m, /<a href="\/login\?next=\/">Sign in<\/a>/);
  assert.match(m, /<a href="\/substrate">Launch guidance<\/a>/);
});

test('the preview (/ signed out, and /welcome) shows no secret, no internal or executor URL and no session content', async () => {
  const root = await getPublic('/');
  assert.equal(root.status, 200, 'signed out, / is the pre-auth preview');
  assert.match(root.text, /Project spine/);
  const r = await getPublic('/welcome');
  const text = r.text + JSON.stringify(r.headers) + root.text + JSON.stringify(root.headers);
  const projection = (await request(`${portal.url}/api/v1/projection`)).json;
  const forbidden = [
    SECRET, `127.0.0.1:${ports.up}`, `127.0.0.1:${ports.down}`, 'daytona-executor.internal',
    'atlas-deploy-key', 'daytona_api_key', 'hasura_admin', 'ATLAS_DEPLOY_KEY', 'DAYTONA_KEY',
  ];
  for (const s of projection.sessions) {
    forbidden.push(s.id, s.lineage.repository, s.lineage.ticket, s.lineage.commit, s.harness);
    if (s.last_tool) forbidden.push(s.last_tool);
    if (s.blocked?.reason) forbidden.push(s.blocked.reason);
  }
  for (const f of new Set(forbidden.filter(Boolean))) assert.ok(!text.includes(f), `/welcome contains ${f}`);
  assert.doesNotMatch(main(r.text), /href="\/(sessions|projects)\//, 'no links into session content');
  for (const c of projection.health) if (c.detail) assert.ok(!text.includes(c.detail), `health detail: ${c.detail}`);
});

test('the project, session and overview pages speak no stack-local lifecycle nouns', async () => {
  const nouns = ['restart', 'redeploy', 'deploy button', 'scale up', 'scale down', 'scaling', 'pod', 'pods',
    'container', 'containers', 'compose', 'kubectl', 'helm', 'docker', 'rollout', 'start', 'stop'];
  for (const p of ['/welcome', '/projects/atlas', '/projects/chronicle', '/projects/greenfield', '/projects/ledger',
    '/projects/nexus-sync', '/sessions/s-atlas-03', '/sessions/s-fractalops-02', '/projects/none', '/sessions/none']) {
    const r = p === '/welcome' ? await getPublic(p) : await get(p);
    const text = r.text.replace(/<script[\s\S]*?<\/script>/g, ' ').replace(/<[^>]+>/g, ' ')
      .replace(/&[a-z#0-9]+;/g, ' ').toLowerCase();
    for (const n of nouns) assert.doesNotMatch(text, new RegExp(`\\b${n}\\b`), `${p} says "${n}"`);
  }
});
