// Validation is what `portal check` reports: the signed-out preview, the home
// page and a project page count and list exactly the secret problems check
// prints for the same configuration and environment, and a project that only
// live events name is listed under Validation as not declared in
// portal.yaml, never as a step of the spine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startPortal, request, sanitizerReport, binPath, tempDir, freshDb, createToken, SYNC_MS } from '../lib/portal.mjs';

const VALUE = 'val-present-7c1e09';
// fractalops is declared as config/portal.example.yaml declares it: the
// prober's own health events name that project.
// Present: VAL_TEST_DAYTONA. Missing: the rest, each needed by something
// different (a component, a proposal kind), and one only a project lists.
const env = { VAL_TEST_DAYTONA: VALUE };
const config = `server:
  mode: dev
components:
  - {name: daytona, ownership: owned, internal_url: "http://127.0.0.1:9/d", auth: {kind: bearer, secret: daytona_key}, health: {path: /}}
  - {name: temporal, ownership: owned, internal_url: "http://127.0.0.1:9/t", auth: {kind: bearer, secret: temporal_token}, health: {path: /}}
  - {name: hasura, ownership: owned, internal_url: "http://127.0.0.1:9/h", auth: {kind: bearer, secret: hasura_admin}, health: {path: /}}
  - {name: runner, ownership: owned, internal_url: "http://127.0.0.1:9/r", executor_url: "http://127.0.0.1:9/run", health: {path: /}}
secrets:
  daytona_key: env:VAL_TEST_DAYTONA
  temporal_token: env:VAL_TEST_TEMPORAL
  hasura_admin: env:VAL_TEST_HASURA
  runner_token: env:VAL_TEST_RUNNER
  deploy_key: env:VAL_TEST_DEPLOY
projects:
  - {name: atlas, components: [daytona], secrets: [deploy_key]}
  - {name: chronicle, components: [daytona, temporal]}
  - {name: ledger, components: [hasura]}
  - {name: fractalops}
proposals:
  - name: remote
    execute: {executor: http, component: runner, secret: runner_token}
`;
const projectSecrets = {
  atlas: ['daytona_key', 'deploy_key'],
  chronicle: ['daytona_key', 'temporal_token'],
  ledger: ['hasura_admin'],
};

let portal, dir, file, token;

function check(configFile) {
  const childEnv = { PATH: process.env.PATH, ...env };
  const r = spawnSync(binPath(), ['check', '--config', configFile], { env: childEnv, encoding: 'utf8', timeout: SYNC_MS });
  const items = [];
  for (const line of r.stderr.split('\n')) {
    const m = line.match(/^secret (\S+): (\w+) \((.*)\); (?:needed by (.*)|not needed by anything)$/);
    if (m) items.push({ secret: m[1], state: m[2], needed: m[4] ? 'yes' : 'no' });
  }
  const total = Number(r.stderr.match(/portal check: (\d+) needed secrets? missing or unreadable/)?.[1] ?? 0);
  return { status: r.status, stderr: r.stderr, items, total };
}

// The part of a page between <main> and </main>.
const main = (text) => text.slice(text.indexOf('<main'), text.indexOf('</main>'));
const count = (m, key) => Number(m.match(new RegExp(`data-count="${key}"><strong>(\\d+)</strong>`))?.[1]);
function listed(m) {
  const list = m.match(/<ul class="checks" id="check-list">([\s\S]*?)<\/ul>/)?.[1] ?? '';
  return [...list.matchAll(/<li data-check-item(?: data-secret="([^"]+)")? data-state="(\w+)" data-needed="(yes|no)">/g)]
    .map(([, secret, state, needed]) => (secret ? { secret, state, needed } : { state, needed }));
}
const byName = (a, b) => (a.secret < b.secret ? -1 : 1);
const bag = (xs) => xs.map((x) => `${x.state}/${x.needed}`).sort();

before(async () => {
  dir = tempDir();
  const db = freshDb(dir);
  execFileSync(binPath(), ['migrate', '--db', db], { env: { PATH: process.env.PATH }, timeout: SYNC_MS });
  token = createToken(db, 'producer');
  portal = await startPortal({ dir, db, config, env });
  file = portal.configPath;
});

after(async () => {
  const { code } = await portal.stop();
  assert.equal(code, 0);
  assert.equal(sanitizerReport(portal), '');
});

test('portal check on the configuration reports needed secrets missing and exits 1', () => {
  const r = check(file);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.total, 3, 'temporal_token, hasura_admin, runner_token');
  assert.deepEqual(r.items.map((i) => i.secret).sort(), ['deploy_key', 'hasura_admin', 'runner_token', 'temporal_token']);
});

test('signed in, the home page counts and lists exactly what portal check reports', async () => {
  const r = check(file);
  const m = main((await request(`${portal.url}/`, { headers: { Accept: 'text/html' } })).text);
  assert.equal(count(m, 'problems'), r.total);
  assert.deepEqual(listed(m).sort(byName), r.items.sort(byName));
  assert.match(m, /data-secret="temporal_token"[^>]*>Secret <code>temporal_token<\/code> is [\s\S]*?needed by temporal\. <span class="fix">Provide it/);
  assert.ok(!m.includes(VALUE), 'never a secret value');
  assert.ok(!m.includes('127.0.0.1:9'), 'never an internal URL');
});

test('signed out, the preview counts what portal check reports and lists each problem without naming the secret', async () => {
  const r = check(file);
  for (const p of ['/', '/welcome']) {
    const res = await request(`${portal.url}${p}`, { headers: { Accept: 'text/html' }, auth: false });
    assert.equal(res.status, 200, p);
    const m = main(res.text);
    assert.equal(count(m, 'problems'), r.total, p);
    assert.deepEqual(bag(listed(m)), bag(r.items), p);
    assert.match(m, /configuration problems<\/span> as <code>portal check<\/code> reports them/);
    assert.match(m, /<span class="fix">Provide it at its source, then reload Portal; sign in to see which\.<\/span>/);
    for (const s of ['temporal_token', 'hasura_admin', 'runner_token', 'deploy_key', 'VAL_TEST_', VALUE, '127.0.0.1:9'])
      assert.ok(!res.text.includes(s), `${p} shows ${s}`);
  }
});

test('a project page lists the problems that concern it, and the total check reports', async () => {
  const r = check(file);
  for (const [name, secrets] of Object.entries(projectSecrets)) {
    const m = main((await request(`${portal.url}/projects/${name}`, { headers: { Accept: 'text/html' } })).text);
    const mine = r.items.filter((i) => secrets.includes(i.secret));
    assert.equal(count(m, 'problems'), r.total, name);
    assert.equal(count(m, 'project-problems'), mine.filter((i) => i.needed === 'yes').length, name);
    assert.deepEqual(listed(m).sort(byName), mine.sort(byName), name);
  }
});

test('providing the missing secrets makes check and the pages agree on zero', async () => {
  const more = { VAL_TEST_TEMPORAL: 't', VAL_TEST_HASURA: 'h', VAL_TEST_RUNNER: 'r', VAL_TEST_DEPLOY: 'k' };
  const other = await startPortal({ config, env: { ...env, ...more } });
  try {
    const r = spawnSync(binPath(), ['check', '--config', other.configPath], { env: { PATH: process.env.PATH, ...env, ...more }, encoding: 'utf8', timeout: SYNC_MS });
    assert.equal(r.status, 0, r.stderr);
    const m = main((await request(`${other.url}/`, { headers: { Accept: 'text/html' }, auth: false })).text);
    assert.equal(count(m, 'problems'), 0);
    assert.deepEqual(listed(m), []);
  } finally {
    assert.equal((await other.stop()).code, 0);
  }
});

test('a configuration check refuses on its rules is refused by serve too, so no page can show it', async () => {
  const bad = path.join(tempDir(), 'portal.yaml');
  fs.writeFileSync(bad, config.replace('secret: hasura_admin}', 'secret: hasura_admn}'));
  const r = check(bad);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /hasura_admn/);
  assert.match(r.stderr, /portal check: \d+ errors?/);
  const s = spawnSync(binPath(), ['serve', '--listen', '127.0.0.1:0', '--db', freshDb(tempDir()), '--config', bad],
    { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: SYNC_MS });
  assert.notEqual(s.status, 0);
  assert.match(s.stderr, /hasura_admn/);
});

test('an event naming an undeclared project lists it under Validation, never in the spine, and leaves check\'s count alone', async () => {
  const r = check(file);
  const res = await request(`${portal.url}/api/v1/events`, {
    method: 'POST', auth: false,
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ id: 'val-typo-1', type: 'session.started', project: 'atlsa', session: 's-atlsa-1', ts: Date.now() }),
  });
  assert.ok(res.status >= 200 && res.status < 300, res.text);
  for (const [p, auth] of [['/', true], ['/', false], ['/welcome', false]]) {
    let m;
    for (let i = 0; i < 50; i++) {
      m = main((await request(`${portal.url}${p}`, { headers: { Accept: 'text/html' }, auth })).text);
      if (m.includes('data-undeclared="atlsa"')) break;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    const what = `${p} ${auth ? 'signed in' : 'signed out'}`;
    const spine = m.match(/<ul class="spine">([\s\S]*?)<\/ul>/)[1];
    const steps = [...spine.matchAll(/<li data-project="([^"]+)"/g)].map((x) => x[1]);
    assert.deepEqual(steps, ['atlas', 'chronicle', 'fractalops', 'ledger'], `${what}: the spine's steps are the declared projects`);
    assert.match(m, /<ul class="checks" id="undeclared">\n<li data-undeclared="atlsa">[\s\S]*?atlsa[\s\S]*?<span class="flag">not declared in portal\.yaml<\/span>/, what);
    assert.equal(count(m, 'undeclared'), 1, what);
    assert.equal(count(m, 'problems'), r.total, `${what}: check's count stays check's`);
  }
});
