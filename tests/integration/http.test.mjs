// The HTTP surface a client depends on: probes, errors, headers, assets,
// request ids, metrics and the OpenAPI document. Starts the real binary.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPortal, request, rawRequest, sanitizerReport } from '../lib/portal.mjs';

let portal;
before(async () => { portal = await startPortal(); });
after(async () => {
  const { code } = await portal.stop();
  assert.equal(code, 0);
  assert.equal(sanitizerReport(portal), '');
});

function assertSecurityHeaders(h, what) {
  assert.match(h['content-security-policy'] ?? '', /frame-ancestors 'none'/, `${what}: CSP frame-ancestors`);
  assert.match(h['content-security-policy'], /script-src 'self'/, `${what}: CSP script-src`);
  assert.doesNotMatch(h['content-security-policy'], /unsafe-inline/, `${what}: no inline script`);
  assert.equal(h['x-content-type-options'], 'nosniff', `${what}: nosniff`);
  assert.ok(h['referrer-policy'], `${what}: Referrer-Policy`);
  assert.match(h['x-request-id'] ?? '', /^[A-Za-z0-9._-]{1,64}$/, `${what}: X-Request-Id`);
}

test('healthz says the process is alive', async () => {
  const r = await request(`${portal.url}/healthz`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { status: 'alive' });
});

test('readyz is ready on a migrated store and reports the schema', async () => {
  const r = await request(`${portal.url}/readyz`);
  assert.equal(r.status, 200);
  assert.equal(r.json.status, 'ready');
  assert.equal(r.json.draining, false);
  const s = r.json.checks.store;
  assert.equal(s.status, 'ready');
  assert.ok(s.schema_version >= 1);
  assert.equal(s.schema_version, s.schema_latest);
  assert.match(s.instance_id, /^[0-9a-f]{32}$/);
});

test('an unknown API path is a 404 in the one error shape', async () => {
  const r = await request(`${portal.url}/api/v1/nothing-here`);
  assert.equal(r.status, 404);
  assert.match(r.headers['content-type'], /^application\/json/);
  assert.equal(r.json.error.code, 'not_found');
  assert.equal(r.json.error.field, 'path');
  assert.match(r.json.error.message, /\/api\/v1\/nothing-here/);
  assert.equal(r.json.error.request_id, r.headers['x-request-id']);
});

test('an unknown page renders the recovery view, never a blank page', async () => {
  const r = await request(`${portal.url}/no/such/page`, { headers: { Accept: 'text/html' } });
  assert.equal(r.status, 404);
  assert.match(r.headers['content-type'], /^text\/html/);
  assert.match(r.text, /data-recovery-class="product"/);
  assert.match(r.text, /<a href="\/">/);
  assertSecurityHeaders(r.headers, '404 page');
});

test('a wrong method is a 405 that names the allowed ones', async () => {
  const r = await request(`${portal.url}/healthz`, { method: 'POST', headers: { Accept: 'application/json' } });
  assert.equal(r.status, 405);
  assert.equal(r.headers.allow, 'GET, HEAD, OPTIONS');
  assert.equal(r.json.error.code, 'method_not_allowed');
  assert.equal(r.json.error.field, 'method');
  const del = await request(`${portal.url}/api/v1/openapi.json`, { method: 'DELETE' });
  assert.equal(del.status, 405);
  assert.equal(del.headers.allow, 'GET, HEAD, OPTIONS');
});

test('OPTIONS answers 204 with Allow', async () => {
  const r = await request(`${portal.url}/readyz`, { method: 'OPTIONS' });
  assert.equal(r.status, 204);
  assert.equal(r.headers.allow, 'GET, HEAD, OPTIONS');
});

test('HEAD answers like GET without a body', async () => {
  const r = await request(`${portal.url}/healthz`, { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.equal(r.text, '');
});

test('every kind of response carries the security headers', async () => {
  for (const path of ['/', '/healthz', '/readyz', '/metrics', '/api/v1/openapi.json',
                      '/api/v1/missing', '/assets/portal.css']) {
    const r = await request(`${portal.url}${path}`);
    assertSecurityHeaders(r.headers, path);
  }
});

test('a valid X-Request-Id is echoed, an invalid one is replaced', async () => {
  const ok = await request(`${portal.url}/healthz`, { headers: { 'X-Request-Id': 'trace-123.abc_DEF' } });
  assert.equal(ok.headers['x-request-id'], 'trace-123.abc_DEF');
  const bad = await request(`${portal.url}/healthz`, { headers: { 'X-Request-Id': 'bad id<script>' } });
  assert.notEqual(bad.headers['x-request-id'], 'bad id<script>');
  assert.match(bad.headers['x-request-id'], /^[0-9a-f]{32}$/);
  const none = await request(`${portal.url}/healthz`);
  assert.match(none.headers['x-request-id'], /^[0-9a-f]{32}$/);
  const again = await request(`${portal.url}/healthz`);
  assert.notEqual(again.headers['x-request-id'], none.headers['x-request-id']);
});

test('the request id and route are in the JSON log line of each request', async () => {
  await request(`${portal.url}/healthz`, { headers: { 'X-Request-Id': 'log-check-1' } });
  const line = await portal.waitForLog((l) => l.request_id === 'log-check-1');
  assert.equal(line.msg, 'request');
  assert.equal(line.route, '/healthz');
  assert.equal(line.status, 200);
  assert.equal(line.method, 'GET');
  assert.equal(typeof line.duration_ms, 'number');
  assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(line.level, 'info');
});

test('static assets have strong ETags, long caching, and answer 304 when unchanged', async () => {
  const home = await request(`${portal.url}/`);
  const href = home.text.match(/href="(\/assets\/portal\.css\?v=[0-9a-f]+)"/)[1];
  const r = await request(`${portal.url}${href}`);
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'], /^text\/css/);
  assert.match(r.headers.etag, /^"[0-9a-f]{32}"$/);
  assert.match(r.headers['cache-control'], /max-age=31536000/);
  assert.match(r.headers['cache-control'], /immutable/);
  const again = await request(`${portal.url}${href}`, { headers: { 'If-None-Match': r.headers.etag } });
  assert.equal(again.status, 304);
  assert.equal(again.text, '');
  const js = await request(`${portal.url}/assets/portal.js`);
  assert.match(js.headers['content-type'], /^text\/javascript/);
});

test('asset paths cannot reach outside the compiled-in table', async () => {
  for (const p of ['/assets/..%2Fportal.db', '/assets/../portal.db', '/assets/%2e%2e%2fMakefile',
                   '/assets/nope.css', '/assets/']) {
    const r = await rawRequest(portal.port, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(r, /^HTTP\/1\.1 404 /, `${p} → ${r.slice(0, 40)}`);
  }
});

test('pages contain no inline script', async () => {
  const r = await request(`${portal.url}/`);
  assert.equal(r.status, 200);
  const scripts = [...r.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.ok(scripts.length > 0);
  for (const [, attrs, body] of scripts) {
    assert.match(attrs, /src="\/assets\//);
    assert.equal(body.trim(), '');
  }
  assert.doesNotMatch(r.text, /\son[a-z]+="/i, 'no inline event handlers');
});

test('a user-supplied path is escaped in the recovery page', async () => {
  const r = await request(`${portal.url}/%3Cscript%3Ealert(1)%3C/script%3E`, { headers: { Accept: 'text/html' } });
  assert.equal(r.status, 404);
  assert.doesNotMatch(r.text, /<script>alert/);
});

test('metrics count requests per route and status in Prometheus format', async () => {
  for (let i = 0; i < 3; i++) await request(`${portal.url}/healthz`);
  await request(`${portal.url}/api/v1/missing-for-metrics`);
  const r = await request(`${portal.url}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const count = Number(r.text.match(/^portal_http_requests_total\{method="GET",route="\/healthz",status="200"\} (\d+)$/m)[1]);
  assert.ok(count >= 3, `healthz count ${count}`);
  assert.match(r.text, /^portal_http_requests_total\{method="GET",route="unmatched",status="404"\} \d+$/m);
  assert.match(r.text, /^portal_http_request_duration_seconds_bucket\{method="GET",route="\/healthz",status="200",le="\+Inf"\} \d+$/m);
  assert.match(r.text, /^portal_store_op_duration_seconds_count\{op="check"\} [1-9]\d*$/m);
  assert.match(r.text, /^portal_build_info\{version="[^"]+",commit="[^"]+",libevent="2\.1[^"]*",sqlite="3[^"]*"\} 1$/m);
  assert.match(r.text, /^portal_store_ready 1$/m);
  for (const line of r.text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    // name{label="value",...} number — values are quoted strings that may hold braces.
    assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? (?:-?[0-9.e+-]+|\+Inf)$/, `exposition line: ${line}`);
  }
});

test('the OpenAPI document is valid and every documented GET answers', async () => {
  const { validate } = await import('@readme/openapi-parser');
  const r = await request(`${portal.url}/api/v1/openapi.json`);
  assert.equal(r.status, 200);
  const result = await validate(structuredClone(r.json));
  assert.equal(result.valid, true, JSON.stringify(result.errors ?? result));
  for (const [path, item] of Object.entries(r.json.paths)) {
    if (!item.get || path.includes('{')) continue;
    // An event stream never ends; it has its own tests.
    if (item.get.responses['200']?.content?.['text/event-stream']) continue;
    const got = await request(`${portal.url}${path}`);
    assert.ok(Object.keys(item.get.responses).includes(String(got.status)),
      `${path} answered ${got.status}, documented ${Object.keys(item.get.responses)}`);
  }
});

test('oversized headers and bodies are refused and the server keeps serving', async () => {
  const big = await rawRequest(portal.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\nConnection: close\r\n\r\n`);
  assert.match(big, /^HTTP\/1\.1 (400|431) /);
  const body = await rawRequest(portal.port, `POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\nConnection: close\r\n\r\n${'a'.repeat(2000000)}`);
  assert.match(body, /^HTTP\/1\.1 413 /);
  assert.equal((await request(`${portal.url}/healthz`)).status, 200);
});

test('a smaller configured body limit is enforced', async () => {
  const small = await startPortal({ args: ['--max-body-bytes', '2048'] });
  const r = await rawRequest(small.port, `POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\nConnection: close\r\n\r\n${'a'.repeat(4096)}`);
  assert.match(r, /^HTTP\/1\.1 413 /);
  const ok = await rawRequest(small.port, `POST /healthz HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n${'a'.repeat(1000)}`);
  assert.match(ok, /^HTTP\/1\.1 405 /, 'a body under the limit reaches the router');
  assert.equal((await small.stop()).code, 0);
});
