// Proposals over HTTP: validation per field type, idempotent submission,
// separation of duties, every illegal transition refused, the hash-chained
// audit trail, live events for the operator view, and a crash right after a
// 202 losing nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPortal, request, login, addUser, sanitizerReport, slow } from '../lib/portal.mjs';
import { KINDS } from '../lib/kinds.mjs';


const PW = 'proposal-password-1';
let portal, olga, abe, vic;

before(async () => {
  portal = await startPortal({ config: KINDS, args: ['--ready-interval-ms', '200'] });
  addUser(portal.db, 'olga', 'operator', PW);
  addUser(portal.db, 'abe', 'approver', PW);
  addUser(portal.db, 'vic', 'viewer', PW);
  [olga, abe, vic] = await Promise.all([login(portal.url, 'olga', PW), login(portal.url, 'abe', PW), login(portal.url, 'vic', PW)]);
});
after(async () => {
  const { code } = await portal.stop();
  assert.equal(code, 0);
  assert.equal(sanitizerReport(portal), '');
});

const as = (s, extra = {}) => ({ Cookie: s.cookie, 'X-CSRF-Token': s.csrf, 'Content-Type': 'application/json', ...extra });
const submit = (s, body, extra) => request(`${portal.url}/api/v1/proposals`, { method: 'POST', headers: as(s, extra), body: JSON.stringify(body) });
const decide = (s, id, action, reason) => request(`${portal.url}/api/v1/proposals/${id}/${action}`, {
  method: 'POST', headers: as(s), body: JSON.stringify(reason ? { reason } : {}),
});
const good = { kind: 'rotate-key', project: 'atlas', input: { key_name: 'deploy', ttl_days: 30 } };

test('each field type is validated and the error names the field', async () => {
  const cases = [
    [{ ...good, kind: 'nope' }, 'kind'],
    [{ ...good, project: 'Not A Name' }, 'project'],
    [{ ...good, input: { ttl_days: 30 } }, 'input.key_name'],
    [{ ...good, input: { key_name: 'prod', ttl_days: 30 } }, 'input.key_name'],
    [{ ...good, input: { key_name: 'ci', ttl_days: 0 } }, 'input.ttl_days'],
    [{ ...good, input: { key_name: 'ci', ttl_days: 91 } }, 'input.ttl_days'],
    [{ ...good, input: { key_name: 'ci', ttl_days: '30' } }, 'input.ttl_days'],
    [{ ...good, input: { key_name: 'ci', ttl_days: 1.5 } }, 'input.ttl_days'],
    [{ ...good, input: { key_name: 'ci', ttl_days: 3, note: 'x'.repeat(21) } }, 'input.note'],
    [{ ...good, input: { key_name: 'ci', ttl_days: 3, dry_run: 'yes' } }, 'input.dry_run'],
    [{ ...good, input: { key_name: 'ci', ttl_days: 3, extra: 1 } }, 'input.extra'],
    [{ ...good, input: [1, 2] }, 'input'],
  ];
  for (const [body, field] of cases) {
    const r = await submit(olga, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.error.field, field, JSON.stringify(r.json));
    assert.ok(r.json.error.message.length > 5);
  }
  const list = await request(`${portal.url}/api/v1/proposals`);
  assert.equal(list.json.proposals.length, 0, 'nothing invalid was recorded');
});

test('a viewer may not propose; a submission needs its CSRF token', async () => {
  const r = await submit(vic, good);
  assert.equal(r.status, 403);
  assert.equal(r.json.error.class, 'auth');
  assert.match(r.json.error.message, /operator role/);
  const noCsrf = await request(`${portal.url}/api/v1/proposals`, {
    method: 'POST', headers: { Cookie: olga.cookie, 'Content-Type': 'application/json' }, body: JSON.stringify(good),
  });
  assert.equal(noCsrf.status, 403);
  assert.equal(noCsrf.json.error.code, 'csrf');
});

test('submission answers 202 with the URL; the same Idempotency-Key returns the same proposal', async () => {
  const a = await submit(olga, good, { 'Idempotency-Key': 'rotate-atlas-1' });
  assert.equal(a.status, 202);
  assert.match(a.json.proposal.id, /^p-[0-9a-f]{16}$/);
  assert.equal(a.headers.location, `/proposals/${a.json.proposal.id}`);
  assert.equal(a.json.proposal.state, 'submitted');
  assert.deepEqual(a.json.proposal.input, { key_name: 'deploy', ttl_days: 30 });
  const b = await submit(olga, { ...good, input: { key_name: 'ci', ttl_days: 5 } }, { 'Idempotency-Key': 'rotate-atlas-1' });
  assert.equal(b.status, 202);
  assert.equal(b.json.proposal.id, a.json.proposal.id);
  assert.equal(b.headers['idempotent-replayed'], 'true');
  assert.deepEqual(b.json.proposal.input, { key_name: 'deploy', ttl_days: 30 }, 'the first submission stands');
  const c = await submit(olga, good, { 'Idempotency-Key': 'rotate-atlas-2' });
  assert.notEqual(c.json.proposal.id, a.json.proposal.id);
  const bad = await submit(olga, good, { 'Idempotency-Key': 'has spaces' });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.field, 'Idempotency-Key');
});

test('separation of duties: the proposer cannot approve; another approver can, and it is queued', async () => {
  const p = (await submit(olga, good)).json.proposal;
  const self = await decide(olga, p.id, 'approve');
  assert.equal(self.status, 403, 'an operator lacks the approver role anyway');
  addUser(portal.db, 'ada', 'approver', PW);
  const ada = await login(portal.url, 'ada', PW);
  const own = (await submit(ada, good)).json.proposal;
  const mine = await decide(ada, own.id, 'approve');
  assert.equal(mine.status, 403);
  assert.equal(mine.json.error.code, 'separation_of_duties');
  const ok = await decide(abe, own.id, 'approve', 'looks right');
  assert.equal(ok.status, 200);
  assert.equal(ok.json.proposal.state, 'queued');
  assert.deepEqual(ok.json.proposal.audit.map((a) => `${a.from}>${a.to}:${a.actor}`),
    ['>submitted:ada', 'submitted>approved:abe', 'approved>queued:portal']);
  // a kind that allows it
  const s = (await submit(olga, { kind: 'self-serve', project: 'atlas', input: { what: 'hello' } })).json.proposal;
  assert.equal((await decide(olga, s.id, 'approve')).status, 200);
});

test('every illegal transition is refused with 409 and changes nothing', async () => {
  const p = (await submit(olga, good)).json.proposal;
  assert.equal((await decide(abe, p.id, 'reject')).status, 400, 'a rejection needs a reason');
  assert.equal((await decide(abe, p.id, 'reject', 'not now')).json.proposal.state, 'rejected');
  for (const [who, action] of [[abe, 'approve'], [olga, 'cancel']]) {
    const r = await decide(who, p.id, action, 'again');
    assert.equal(r.status, 409, `${action} after rejected`);
    assert.equal(r.json.error.code, 'illegal_transition');
  }
  const q = (await submit(olga, good)).json.proposal;
  assert.equal((await decide(abe, q.id, 'approve')).json.proposal.state, 'queued');
  assert.equal((await decide(abe, q.id, 'reject', 'late')).status, 409, 'rejected after approval');
  assert.equal((await decide(vic, q.id, 'cancel')).status, 403, 'a viewer who did not propose it');
  const c = await decide(olga, q.id, 'cancel', 'no longer needed');
  assert.equal(c.json.proposal.state, 'cancelled');
  const late = await decide(abe, q.id, 'approve');
  assert.equal(late.status, 200, 'his approval stands in the trail');
  assert.equal(late.json.proposal.state, 'cancelled', 'and the answer says the proposal is cancelled');
  const got = await request(`${portal.url}/api/v1/proposals/${q.id}`);
  assert.deepEqual(got.json.proposal.audit.map((a) => a.to), ['submitted', 'approved', 'queued', 'cancelled']);
  assert.equal((await decide(abe, 'p-0000000000000000', 'approve')).status, 404);
  assert.equal((await decide(abe, q.id, 'explode')).status, 404);
});

test('the same decision sent again by the same person is answered with the proposal as it stands, and records nothing', async () => {
  const p = (await submit(olga, good)).json.proposal;
  const first = await decide(abe, p.id, 'approve');
  assert.equal(first.json.proposal.state, 'queued');
  const again = await decide(abe, p.id, 'approve');
  assert.equal(again.status, 200, 'an approval whose answer was lost can be sent again');
  assert.deepEqual(again.json.proposal.audit, first.json.proposal.audit);
  const r = (await submit(olga, good)).json.proposal;
  assert.equal((await decide(abe, r.id, 'reject', 'not now')).json.proposal.state, 'rejected');
  const rejectedAgain = await decide(abe, r.id, 'reject', 'still not');
  assert.equal(rejectedAgain.status, 200);
  assert.deepEqual(rejectedAgain.json.proposal.audit.map((a) => a.to), ['submitted', 'rejected']);
  const c = (await submit(olga, good)).json.proposal;
  assert.equal((await decide(olga, c.id, 'cancel', 'changed my mind')).json.proposal.state, 'cancelled');
  assert.equal((await decide(olga, c.id, 'cancel', 'twice')).status, 200);
  assert.deepEqual((await request(`${portal.url}/api/v1/proposals/${c.id}`)).json.proposal.audit.map((a) => a.to),
    ['submitted', 'cancelled']);
});

test('the audit trail is a hash chain, and progress reaches the projection as live events', async () => {
  const p = (await submit(olga, { ...good, project: 'chronicle' })).json.proposal;
  await decide(abe, p.id, 'approve');
  const audit = (await request(`${portal.url}/api/v1/proposals/${p.id}`)).json.proposal.audit;
  for (const a of audit) assert.match(a.hash, /^[0-9a-f]{64}$/);
  for (let i = 1; i < audit.length; i++) assert.equal(audit[i].prev, audit[i - 1].hash);
  let proj;
  const deadline = Date.now() + 5000 * slow;
  do {
    proj = (await request(`${portal.url}/api/v1/projection`)).json.projects.find((x) => x.name === 'chronicle');
    if (!proj) await new Promise((r) => setTimeout(r, 100));
  } while (!proj && Date.now() < deadline);
  assert.ok(proj, 'the project appears from proposal events alone');
  assert.equal(proj.proposals.open, 1);
});

test('filters and pages: /proposals lists, /proposals/new builds the form, /proposals/<id> shows the timeline', async () => {
  const list = await request(`${portal.url}/api/v1/proposals?state=cancelled`);
  assert.ok(list.json.proposals.length >= 1);
  assert.ok(list.json.proposals.every((p) => p.state === 'cancelled'));
  assert.equal((await request(`${portal.url}/api/v1/proposals?state=asleep`)).status, 400);
  const page = await request(`${portal.url}/proposals?state=cancelled`, { headers: { Accept: 'text/html' } });
  assert.equal(page.status, 200);
  assert.match(page.text, /data-state="cancelled"/);
  const form = await request(`${portal.url}/proposals/new?kind=rotate-key`, { headers: { Cookie: olga.cookie } });
  assert.equal(form.status, 200);
  assert.match(form.text, /<select id="f-key_name" name="key_name" required>/);
  assert.match(form.text, /type="number" step="1" min="1" max="90"/);
  assert.match(form.text, /maxlength="20"/);
  // a bad form comes back with the message on its field and the values kept
  const key = /name="key" value="([0-9a-f]+)"/.exec(form.text)[1];
  const body = new URLSearchParams({ csrf: olga.csrf, kind: 'rotate-key', key, project: 'atlas', key_name: 'ci', ttl_days: '400' });
  const bad = await request(`${portal.url}/proposals`, { method: 'POST', headers: { Cookie: olga.cookie, 'Content-Type': 'application/x-www-form-urlencoded' }, body: body.toString() });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /data-field="input.ttl_days"/);
  assert.match(bad.text, /id="f-ttl_days" name="ttl_days"[^>]*aria-invalid="true"[^>]*value="400"/);
  body.set('ttl_days', '7');
  const ok = await request(`${portal.url}/proposals`, { method: 'POST', headers: { Cookie: olga.cookie, 'Content-Type': 'application/x-www-form-urlencoded' }, body: body.toString() });
  assert.equal(ok.status, 303);
  const again = await request(`${portal.url}/proposals`, { method: 'POST', headers: { Cookie: olga.cookie, 'Content-Type': 'application/x-www-form-urlencoded' }, body: body.toString() });
  assert.equal(again.headers.location, ok.headers.location, 'the same form sent twice records once');
  const detail = await request(`${portal.url}${ok.headers.location}`, { headers: { Cookie: abe.cookie } });
  assert.match(detail.text, /data-action="approve"/);
  assert.match(detail.text, /<code class="hash" title="[0-9a-f]{64}">/);
  const mine = await request(`${portal.url}${ok.headers.location}`, { headers: { Cookie: olga.cookie } });
  assert.doesNotMatch(mine.text, /data-action="approve"/, 'no approve button for the proposer');
  assert.match(mine.text, /data-action="cancel"/);
});

const formPost = (s, fields) => request(`${portal.url}/proposals`, {
  method: 'POST', headers: { Cookie: s.cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ csrf: s.csrf, ...fields }).toString(),
});

test('a proposal for a project portal.yaml does not declare is refused on project, naming the declared ones', async () => {
  const r = await submit(olga, { ...good, project: 'atlsa' });
  assert.equal(r.status, 400);
  assert.equal(r.json.error.field, 'project');
  assert.match(r.json.error.message, /not declared in portal\.yaml/);
  assert.match(r.json.error.message, /atlas, chronicle, zephyr/);
  const none = await submit(olga, { kind: 'rotate-key', input: good.input });
  assert.equal(none.status, 400);
  assert.equal(none.json.error.field, 'project');
  const phantom = await request(`${portal.url}/api/v1/proposals?project=atlsa`);
  assert.equal(phantom.json.proposals.length, 0, 'no phantom project is recorded');
  // the form: the refusal on the field, what was sent kept and marked
  const form = await request(`${portal.url}/proposals/new?kind=rotate-key`, { headers: { Cookie: olga.cookie } });
  const key = /name="key" value="([0-9a-f]+)"/.exec(form.text)[1];
  const bad = await formPost(olga, { kind: 'rotate-key', key, project: 'atlsa', key_name: 'ci', ttl_days: '7' });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /data-field="project">that project is not declared in portal\.yaml: the declared projects are atlas, chronicle, zephyr</);
  assert.match(bad.text, /<select id="f-project" name="project" required aria-describedby="form-error" aria-invalid="true">/);
  assert.match(bad.text, /<option selected value="atlsa">atlsa \(not declared\)<\/option>/);
  assert.match(bad.text, /id="f-ttl_days" name="ttl_days"[^>]*value="7"/, 'the other values are kept');
  const linked = await request(`${portal.url}/proposals/new?kind=rotate-key&project=atlsa`, { headers: { Cookie: olga.cookie } });
  assert.doesNotMatch(linked.text, /atlsa/, 'a link cannot offer an undeclared project');
  assert.match(linked.text, /<option value="">Choose a project<\/option>/);
});

test('a long list of declared projects is named in part, with how many more', async () => {
  const projects = Array.from({ length: 12 }, (_, i) => `  - name: project-${String(i).padStart(2, '0')}`).join('\n');
  const p = await startPortal({ config: KINDS.replace('projects:\n', `projects:\n${projects}\n`) });
  try {
    addUser(p.db, 'olga', 'operator', PW);
    const s = await login(p.url, 'olga', PW);
    const r = await request(`${p.url}/api/v1/proposals`, { method: 'POST', headers: as(s), body: JSON.stringify({ ...good, project: 'nowhere' }) });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.field, 'project');
    assert.match(r.json.error.message, /the declared projects are project-00, project-01, project-02, project-03, project-04, and 10 more$/);
  } finally {
    await p.stop();
  }
});

test('a kind\'s field named project is the proposal\'s project: both agree, either alone fills the other', async () => {
  const pause = { kind: 'pause-project', input: { minutes: 5 } };
  const differ = await submit(olga, { ...pause, project: 'atlas', input: { minutes: 5, project: 'chronicle' } });
  assert.equal(differ.status, 400);
  assert.equal(differ.json.error.field, 'input.project');
  assert.match(differ.json.error.message, /input\.project and project/);
  const top = await submit(olga, { ...pause, project: 'atlas' });
  assert.equal(top.status, 202, JSON.stringify(top.json));
  assert.equal(top.json.proposal.project, 'atlas');
  assert.deepEqual(top.json.proposal.input, { project: 'atlas', minutes: 5 });
  const inner = await submit(olga, { kind: 'pause-project', input: { project: 'chronicle', minutes: 6 } });
  assert.equal(inner.status, 202, JSON.stringify(inner.json));
  assert.equal(inner.json.proposal.project, 'chronicle');
  assert.equal(inner.json.proposal.input.project, 'chronicle');
  const both = await submit(olga, { ...pause, project: 'zephyr', input: { project: 'zephyr', minutes: 7 } });
  assert.equal(both.status, 202);
  assert.equal(both.json.proposal.project, 'zephyr');
  const undeclared = await submit(olga, { kind: 'pause-project', input: { project: 'atlsa', minutes: 5 } });
  assert.equal(undeclared.status, 400);
  assert.equal(undeclared.json.error.field, 'project');
  // the form has one Project control, not two boxes, and it submits
  const form = await request(`${portal.url}/proposals/new?kind=pause-project&project=zephyr`, { headers: { Cookie: olga.cookie } });
  assert.equal(form.status, 200);
  assert.equal(form.text.match(/name="project"/g).length, 1, 'one project control');
  assert.equal(form.text.match(/>Project</g).length, 1, 'one label Project');
  assert.match(form.text, /<option value="zephyr" selected>Zephyr<\/option>/);
  assert.match(form.text, /aria-describedby="f-project-help"/);
  const key = /name="key" value="([0-9a-f]+)"/.exec(form.text)[1];
  const ok = await formPost(olga, { kind: 'pause-project', key, project: 'zephyr', minutes: '9' });
  assert.equal(ok.status, 303);
  const made = await request(`${portal.url}/api${ok.headers.location.replace('/proposals', '/v1/proposals')}`);
  assert.equal(made.json.proposal.project, 'zephyr');
  assert.deepEqual(made.json.proposal.input, { project: 'zephyr', minutes: 9 });
});

test('a crash of serve right after a 202 loses nothing', async () => {
  const p = await startPortal({ config: KINDS });
  addUser(p.db, 'olga', 'operator', PW);
  const s = await login(p.url, 'olga', PW);
  const r = await request(`${p.url}/api/v1/proposals`, { method: 'POST', headers: as(s), body: JSON.stringify(good) });
  assert.equal(r.status, 202);
  p.process.kill('SIGKILL');
  await p.exited;
  const q = await startPortal({ config: KINDS, db: p.db, dir: p.dir });
  try {
    const got = await request(`${q.url}/api/v1/proposals/${r.json.proposal.id}`);
    assert.equal(got.status, 200);
    assert.equal(got.json.proposal.state, 'submitted');
  } finally {
    await q.stop();
  }
});
