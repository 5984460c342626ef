// The lineage panel of a proposal: DataHub's upstream and downstream of the
// datasets it names, with impact counts and links to DataHub's public URL,
// labelled as catalog navigation. A DataHub that is down or answers an error
// inside a 200 turns the panel into a dependency notice and leaves the page
// (and the closure) as it was. DataHub here is a loopback server answering
// in its documented shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startPortal, request, login, addUser, sanitizerReport } from '../lib/portal.mjs';

const PW = 'lineage-password-12';
const DS = 'urn:li:dataset:(urn:li:dataPlatform:clickhouse,fractalops.facts,PROD)';

function dataHub() {
  const hub = { mode: 'ok', asked: [], auth: [] };
  hub.server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const send = (status, obj) => { res.writeHead(status, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(obj)); };
      if (req.url !== '/api/graphql') return send(404, {});
      const q = JSON.parse(body);
      hub.asked.push(q.variables);
      hub.auth.push(req.headers.authorization || '');
      if (hub.mode === 'error') return send(200, { errors: [{ message: 'Failed to search lineage', extensions: { code: 500, type: 'SERVER_ERROR' } }], data: null });
      if (q.operationName === 'portalEntity') {
        return send(200, { data: { entityExists: true, entity: { urn: q.variables.urn, type: 'DATASET', name: 'fractalops.facts', properties: { name: 'facts' }, platform: { name: 'clickhouse' } } } });
      }
      const up = q.variables.direction === 'UPSTREAM';
      const results = up
        ? [{ degree: 1, entity: { urn: 'urn:li:dataJob:(urn:li:dataFlow:(airflow,etl,prod),load_facts)', type: 'DATA_JOB', properties: { name: 'load_facts' }, dataFlow: { platform: { name: 'airflow' } } } }]
        : [{ degree: 1, entity: { urn: 'urn:li:dashboard:(superset,ops)', type: 'DASHBOARD', properties: { name: '<b>ops</b>' }, platform: { name: 'superset' } } },
          { degree: 2, entity: { urn: 'urn:li:chart:(superset,latency)', type: 'CHART', properties: { name: 'latency' }, platform: { name: 'superset' } } }];
      send(200, { data: { searchAcrossLineage: { total: up ? 1 : 12, isPartial: false, searchResults: results } } });
    });
  });
  return new Promise((r) => hub.server.listen(0, '127.0.0.1', () => { hub.port = hub.server.address().port; r(hub); }));
}

const config = (port) => `
components:
  - name: datahub
    ownership: endpoint
    public_url: http://datahub.example.test:9002
    internal_url: http://127.0.0.1:${port}
    auth: {kind: bearer, secret: datahub_token}
    health: {path: /health}
secrets:
  datahub_token: env:PORTAL_TEST_DATAHUB_TOKEN
lineage:
  datahub_component: datahub
  datahub_secret: datahub_token
projects:
  - name: atlas
proposals:
  - name: backfill
    propose: operator
    fields:
      - {name: table, type: dataset, required: true}
    execute: {executor: exec, argv: ["/bin/echo", "{table}"]}
`;

async function setup(hub) {
  const portal = await startPortal({ config: config(hub.port), env: { PORTAL_TEST_DATAHUB_TOKEN: 'dh-secret-token-1' } });
  addUser(portal.db, 'olga', 'operator', PW);
  const olga = await login(portal.url, 'olga', PW);
  const res = await request(`${portal.url}/api/v1/proposals`, {
    method: 'POST', headers: { Cookie: olga.cookie, 'X-CSRF-Token': olga.csrf, 'Content-Type': 'application/json' },
    body: JSON.stringify({ kind: 'backfill', project: 'atlas', input: { table: DS } }),
  });
  assert.equal(res.status, 202, res.text);
  return { portal, olga, id: res.json.proposal.id };
}

test('the lineage panel shows impact counts and links to DataHub, labelled as navigation, not proof', async () => {
  const hub = await dataHub();
  const { portal, olga, id } = await setup(hub);
  try {
    const page = await request(`${portal.url}/proposals/${id}`, { headers: { Cookie: olga.cookie } });
    assert.equal(page.status, 200);
    assert.match(page.text, /id="lineage"[^>]*data-lineage="ok"/);
    assert.match(page.text, /catalog navigation from DataHub, not proof/);
    assert.match(page.text, /data-direction="upstream"><strong>Upstream: <span class="count">1<\/span>/);
    assert.match(page.text, /data-direction="downstream"><strong>Downstream \(impact\): <span class="count">12<\/span>/);
    assert.ok(page.text.includes('href="http://datahub.example.test:9002/dataset/urn%3Ali%3Adataset%3A'), 'links go to the public URL');
    assert.ok(page.text.includes('&lt;b&gt;ops&lt;/b&gt;'), 'names from DataHub are text');
    assert.ok(!page.text.includes(`127.0.0.1:${hub.port}`), 'the internal URL stays out of the page');
    assert.ok(!page.text.includes('dh-secret-token-1'));
    assert.deepEqual(hub.asked.filter((v) => v.direction).map((v) => [v.urn, v.direction]), [[DS, 'UPSTREAM'], [DS, 'DOWNSTREAM']]);
    assert.ok(hub.auth.every((a) => a === 'Bearer dh-secret-token-1'), 'the token from the secret contract');
  } finally {
    await portal.stop();
    hub.server.close();
    assert.equal(sanitizerReport(portal), '');
  }
});

test('errors inside a 200 and a DataHub that is down leave a dependency notice, the rest of the page intact', async () => {
  const hub = await dataHub();
  const { portal, olga, id } = await setup(hub);
  try {
    hub.mode = 'error';
    let page = await request(`${portal.url}/proposals/${id}`, { headers: { Cookie: olga.cookie } });
    assert.equal(page.status, 200);
    assert.match(page.text, /data-lineage="unavailable"/);
    assert.match(page.text, /data-class="dependency"/);
    assert.match(page.text, /Failed to search lineage/);
    assert.match(page.text, /id="closure"/, 'the closure panel is still there');
    assert.match(page.text, /id="timeline"/);

    await new Promise((r) => hub.server.close(r)); // now nothing listens there
    page = await request(`${portal.url}/proposals/${id}`, { headers: { Cookie: olga.cookie } });
    assert.equal(page.status, 200);
    assert.match(page.text, /data-lineage="unavailable"/);
    assert.match(page.text, /DataHub did not answer/);
    assert.ok(!page.text.includes(`127.0.0.1:${hub.port}`));
  } finally {
    await portal.stop();
    hub.server.close();
  }
});
