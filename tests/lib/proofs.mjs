// The set-up the proof tests share: a portal on the given configuration, an
// operator who proposes (olga) and an approver (abe) signed in, and the few
// calls those tests make: propose and approve, read a proposal, read a page,
// and wait (named, scaled by PORTAL_TEST_SLOW) until a proposal is as wanted.
import assert from 'node:assert/strict';
import { startPortal, request, login, addUser, waitUntil } from './portal.mjs';

export async function proofSetup(config, password) {
  const portal = await startPortal({ config });
  addUser(portal.db, 'olga', 'operator', password);
  addUser(portal.db, 'abe', 'approver', password);
  const [olga, abe] = await Promise.all([login(portal.url, 'olga', password), login(portal.url, 'abe', password)]);
  const post = (s, p, body) => request(`${portal.url}${p}`, {
    method: 'POST', headers: { Cookie: s.cookie, 'X-CSRF-Token': s.csrf, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const propose = async () => {
    const p = (await post(olga, '/api/v1/proposals', { kind: 'rotate-key', project: 'atlas', input: { key_name: 'ci', ttl_days: 7 } })).json.proposal;
    assert.equal((await post(abe, `/api/v1/proposals/${p.id}/approve`, {})).status, 200);
    return p.id;
  };
  const page = async (p) => (await request(`${portal.url}${p}`, { headers: { Cookie: olga.cookie } })).text;
  const get = async (id) => (await request(`${portal.url}/api/v1/proposals/${id}`, { headers: { Cookie: olga.cookie } })).json.proposal;
  // Resolves with the proposal once ok(it); fails naming what after ms.
  const until = async (id, ok, what, ms = 15000) => {
    let p;
    await waitUntil(what, ms, async () => ok(p = await get(id)), { every: 100, detail: () => JSON.stringify(p) });
    return p;
  };
  return { portal, olga, abe, propose, page, get, until };
}
