// Hostile HTTP: oversized heads and bodies, lying lengths, broken chunking,
// slow senders, crowds of idle connections, bytes that are not UTF-8, path
// traversal and header injection. Each attack is refused with the right
// status, nothing it carried is stored, and the server goes on serving others
// (a probe and a signed-in page answer after every one). Starts the real
// binary with small limits and attacks it over raw sockets where a client
// library would tidy the request up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { startPortal, request, sanitizerReport, binPath, tempDir, freshDb, dbSql, createToken } from '../lib/portal.mjs';
import { KINDS } from '../lib/kinds.mjs';

const MAX_BODY = 4096;
const MAX_HEAD = 4096;
const READ_TIMEOUT_MS = 1500;
let portal, token;

before(async () => {
  const dir = tempDir();
  const db = freshDb(dir);
  execFileSync(binPath(), ['migrate', '--db', db], { env: { PATH: process.env.PATH } });
  token = createToken(db, 'producer');
  portal = await startPortal({
    dir, db, config: KINDS,
    args: ['--max-body-bytes', String(MAX_BODY), '--max-header-bytes', String(MAX_HEAD),
      '--read-timeout-ms', String(READ_TIMEOUT_MS)],
  });
});
after(async () => {
  const { code } = await portal.stop();
  assert.equal(code, 0);
  assert.equal(sanitizerReport(portal), '');
});

// Whatever the attack, the server never answers it with a 5xx.
test.afterEach(() => {
  const faults = portal.logs.filter((l) => l.msg === 'request' && l.status >= 500);
  assert.deepEqual(faults, [], 'no request was answered with a server error');
});

const storedEvents = () => Number(dbSql(portal.db, 'SELECT count(*) FROM portal_live_events'));
const storedProposals = () => Number(dbSql(portal.db, 'SELECT count(*) FROM portal_proposals'));

async function stillServing() {
  const health = await request(`${portal.url}/healthz`, { auth: false });
  assert.equal(health.status, 200, 'healthz answers');
  const page = await request(`${portal.url}/operator`);
  assert.equal(page.status, 200, 'a signed-in page answers');
  assert.match(page.text, /<html/);
}

/**
 * Opens a socket, writes data (a string in latin1, or a Buffer) and collects
 * what comes back until the server closes or ms pass. The write side stays
 * open, so only the server can end the exchange. Resolves with { text, closed }.
 */
function exchange(data, ms = 10000) {
  return new Promise((resolve) => {
    const sock = net.connect(portal.port, '127.0.0.1');
    let text = '';
    let settled = false;
    const done = (closed) => {
      if (settled) return;
      settled = true;
      clearTimeout(t);
      sock.destroy();
      resolve({ text, closed });
    };
    const t = setTimeout(() => done(false), ms);
    sock.setEncoding('latin1');
    sock.on('data', (d) => { text += d; });
    sock.on('end', () => done(true));
    sock.on('close', () => done(true));
    sock.on('error', () => done(true));
    sock.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  });
}

/** Splits a raw HTTP/1.1 answer into status, headers (lower-case names) and body. */
function parse(raw) {
  const end = raw.indexOf('\r\n\r\n');
  const head = end >= 0 ? raw.slice(0, end) : raw;
  const [line, ...rest] = head.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(line)?.[1] ?? 0);
  const headers = {};
  for (const h of rest) {
    const colon = h.indexOf(':');
    if (colon > 0) headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  const body = end >= 0 ? raw.slice(end + 4) : '';
  let json;
  try { json = JSON.parse(body); } catch { json = undefined; }
  return { status, headers, body, json, lines: rest };
}

const eventsHead = (extra = '') => `POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
  `Content-Type: application/json\r\n${extra}`;
const event = (id) => JSON.stringify({ id, type: 'session.started', project: 'atlas', session: `s-${id}` });

test('a header block over the limit is refused with 431 naming the limit, and the connection is closed', async () => {
  const r = await exchange(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(MAX_HEAD + 500)}\r\n\r\n`);
  const a = parse(r.text);
  assert.equal(a.status, 431, r.text.slice(0, 200));
  assert.match(a.headers['content-type'], /^application\/json/);
  assert.equal(a.json.error.field, 'headers');
  assert.match(a.json.error.message, new RegExp(`${MAX_HEAD} bytes`));
  assert.match(a.headers['content-security-policy'], /default-src 'self'/);
  assert.equal(a.headers.connection, 'close');
  assert.ok(r.closed, 'the server closed the connection');
  await stillServing();
});

test('many headers that add up past the limit are refused like one big one', async () => {
  const many = Array.from({ length: 200 }, (_, i) => `X-H${i}: ${'v'.repeat(30)}\r\n`).join('');
  const r = await exchange(`GET /healthz HTTP/1.1\r\nHost: x\r\n${many}\r\n`);
  assert.equal(parse(r.text).status, 431);
  assert.ok(r.closed);
  await stillServing();
});

test('a request line over the limit is refused with a 4xx naming the limit, and the connection is closed', async () => {
  const r = await exchange(`GET /${'a'.repeat(MAX_HEAD + 500)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  const a = parse(r.text);
  assert.ok([400, 414, 431].includes(a.status), r.text.slice(0, 200));
  assert.match(a.json.error.message, new RegExp(`${MAX_HEAD} bytes`));
  assert.ok(r.closed);
  await stillServing();
});

test('a malformed request line is a 400 in the one error shape', async () => {
  for (const line of ['GARBAGE\r\n\r\n', 'GET /healthz HTTP/9.9\r\n\r\n', 'GET  HTTP/1.1\r\n\r\n', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n']) {
    const r = await exchange(line);
    const a = parse(r.text);
    assert.equal(a.status, 400, JSON.stringify(line));
    assert.equal(typeof a.json?.error?.message, 'string', r.text);
    assert.ok(r.closed);
  }
  await stillServing();
});

test('an events body over the limit is refused with 413 naming the limit, and nothing is stored', async () => {
  const before = storedEvents();
  const big = JSON.stringify([{ id: 'big-1', type: 'session.started', project: 'atlas', session: 's-big', data: { pad: 'x'.repeat(MAX_BODY) } }]);
  const r = await exchange(`${eventsHead()}Content-Length: ${big.length}\r\n\r\n${big}`);
  const a = parse(r.text);
  assert.equal(a.status, 413, r.text.slice(0, 300));
  assert.equal(a.json.error.code, 'too_large');
  assert.equal(a.json.error.field, 'body');
  assert.match(a.json.error.message, new RegExp(`${MAX_BODY} bytes`));
  assert.ok(r.closed);
  // Through an ordinary client, which reads the answer while it sends.
  const f = await request(`${portal.url}/api/v1/events`, {
    method: 'POST', auth: false, body: big,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
  });
  assert.equal(f.status, 413);
  assert.match(f.json.error.message, new RegExp(`${MAX_BODY} bytes`));
  assert.equal(storedEvents(), before);
  await stillServing();
});

test('a form body over the limit is refused with 413 on sign-in, proposals and decisions, and nothing is stored', async () => {
  const before = storedProposals();
  const pad = 'x'.repeat(MAX_BODY + 10);
  const forms = [
    ['/login', { user: 'someone', password: pad }, false],
    ['/proposals', { kind: 'self-serve', project: 'atlas', what: pad, csrf: portal.session.csrf }, true],
    ['/proposals/p-nothing/reject', { reason: pad, csrf: portal.session.csrf }, true],
    ['/logout', { scope: pad, csrf: portal.session.csrf }, true],
  ];
  for (const [path, fields, auth] of forms) {
    const r = await request(`${portal.url}${path}`, {
      method: 'POST', auth, body: new URLSearchParams(fields).toString(),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(r.status, 413, `${path}: ${r.text.slice(0, 200)}`);
    assert.equal(r.json.error.field, 'body');
    assert.match(r.json.error.message, new RegExp(`${MAX_BODY} bytes`));
  }
  assert.equal(storedProposals(), before);
  await stillServing(); // the sign-in survived: /logout was refused before it ran
});

test('a body shorter than its Content-Length is cut off after the read timeout, and nothing is stored', async () => {
  const before = storedEvents();
  const body = event('short-1');
  const r = await exchange(`${eventsHead()}Content-Length: ${body.length + 50}\r\n\r\n${body}`, READ_TIMEOUT_MS * 10);
  assert.ok(r.closed, 'the server closed the connection');
  assert.ok(!/^HTTP\/1\.1 2/.test(r.text), r.text.slice(0, 200));
  assert.equal(storedEvents(), before);
  await stillServing();
});

test('a body longer than its Content-Length stores only what was declared and the rest is no request', async () => {
  const before = storedEvents();
  const body = event('long-1');
  // The declared length stops inside the JSON: that is invalid JSON, and
  // the bytes after it are not a request either.
  const r = await exchange(`${eventsHead()}Content-Length: ${body.length - 10}\r\n\r\n${body}`);
  const first = parse(r.text);
  assert.equal(first.status, 400, r.text.slice(0, 300));
  assert.equal(first.json.error.code, 'invalid_json');
  assert.doesNotMatch(r.text, /HTTP\/1\.1 2\d\d/);
  // A smuggled request after a complete body is answered as the separate
  // request it is, never as part of the first.
  const smuggle = `${eventsHead()}Content-Length: ${body.length}\r\n\r\n${body}` +
    `${eventsHead()}Content-Length: 500\r\n\r\n${event('smuggled-1')}`;
  const s = await exchange(smuggle, READ_TIMEOUT_MS * 10);
  assert.match(s.text, /^HTTP\/1\.1 20[012] /);
  assert.ok(s.closed);
  assert.equal(storedEvents(), before + 1, 'the first event only');
  assert.equal(dbSql(portal.db, "SELECT count(*) FROM portal_live_events WHERE id = 'smuggled-1'"), '0');
  await stillServing();
});

test('a well-formed chunked body is accepted', async () => {
  const before = storedEvents();
  const body = event('chunked-ok');
  const chunks = `${(10).toString(16)}\r\n${body.slice(0, 10)}\r\n${(body.length - 10).toString(16)}\r\n${body.slice(10)}\r\n0\r\n\r\n`;
  const r = await exchange(`${eventsHead('Transfer-Encoding: chunked\r\nConnection: close\r\n')}\r\n${chunks}`);
  assert.match(r.text, /^HTTP\/1\.1 20[012] /, r.text.slice(0, 300));
  assert.equal(storedEvents(), before + 1);
});

test('malformed chunked bodies are refused with 400 and nothing is stored', async () => {
  const before = storedEvents();
  const body = event('chunk-bad');
  const cases = {
    'a size that is not hex': `zz\r\n${body}\r\n0\r\n\r\n`,
    'a negative size': `-5\r\n${body}\r\n0\r\n\r\n`,
    'no CRLF after the data': `${body.length.toString(16)}\r\n${body}XX0\r\n\r\n`,
    'more data than declared': `5\r\n${body}\r\n0\r\n\r\n`,
    'a size that overflows 64 bits': `ffffffffffffffffffffffff\r\n${body}\r\n0\r\n\r\n`,
  };
  for (const [what, chunks] of Object.entries(cases)) {
    const r = await exchange(`${eventsHead('Transfer-Encoding: chunked\r\n')}\r\n${chunks}`);
    const a = parse(r.text);
    assert.equal(a.status, 400, `${what}: ${r.text.slice(0, 300)}`);
    assert.equal(a.json.error.field, 'body', what);
    assert.ok(r.closed, what);
  }
  assert.equal(storedEvents(), before);
  await stillServing();
});

test('a slow sender dribbling its headers is cut off while other clients are served', async () => {
  const sock = net.connect(portal.port, '127.0.0.1');
  await new Promise((resolve) => sock.on('connect', resolve));
  let closed = false;
  let answer = '';
  sock.on('data', (d) => { answer += d; });
  sock.on('close', () => { closed = true; });
  sock.on('error', () => { closed = true; });
  sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
  const dribble = 'X-Slow: ' + 'a'.repeat(200);
  // One byte a second would take minutes; the read timeout is far shorter.
  for (let i = 0; i < dribble.length && !closed; i++) {
    sock.write(dribble[i]);
    const others = await request(`${portal.url}/healthz`, { auth: false });
    assert.equal(others.status, 200, 'another client is served meanwhile');
    await new Promise((r) => setTimeout(r, 250));
  }
  sock.destroy();
  assert.ok(closed, 'the server cut the slow sender off');
  assert.doesNotMatch(answer, /HTTP\/1\.1 200/);
  await stillServing();
});

test('a slow sender dribbling a body is cut off and nothing is stored', async () => {
  const before = storedEvents();
  const body = event('slow-body');
  const sock = net.connect(portal.port, '127.0.0.1');
  await new Promise((resolve) => sock.on('connect', resolve));
  let closed = false;
  sock.on('close', () => { closed = true; });
  sock.on('error', () => { closed = true; });
  sock.on('data', () => {});
  sock.write(`${eventsHead()}Content-Length: ${body.length}\r\n\r\n`);
  for (let i = 0; i < body.length - 1 && !closed; i++) {
    sock.write(body[i]);
    await new Promise((r) => setTimeout(r, 250));
  }
  sock.destroy();
  assert.ok(closed, 'the server cut the slow body off');
  assert.equal(storedEvents(), before);
  await stillServing();
});

test('five hundred idle connections do not stop a normal request being answered', async () => {
  const idle = [];
  try {
    for (let i = 0; i < 500; i++) {
      const s = net.connect(portal.port, '127.0.0.1');
      s.on('error', () => {});
      // Some say nothing, some start a request and stop.
      if (i % 2) s.write('GET /healthz HTTP/1.1\r\n');
      idle.push(s);
    }
    await Promise.all(idle.map((s) => new Promise((resolve) => {
      if (s.readyState === 'open') resolve();
      s.once('connect', resolve);
      s.once('error', resolve);
    })));
    await stillServing();
  } finally {
    for (const s of idle) s.destroy();
  }
  await stillServing();
});

test('bad UTF-8 inside JSON strings is refused with 400 and nothing is stored', async () => {
  const before = storedEvents();
  const bodies = [
    Buffer.concat([Buffer.from('{"id":"u-1","type":"session.started","project":"atlas","session":"s-'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
    Buffer.concat([Buffer.from('{"id":"u-2","type":"session.started","project":"atlas","session":"s-2","data":{"note":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}')]),
    Buffer.concat([Buffer.from('{"id":"u-3","type":"session.started","project":"atlas","session":"s-3","data":{"note":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}}')]),
    Buffer.from('{"id":"u-4","type":"session.started","project":"atlas","session":"s-4","data":{"note":"\\ud800"}}'),
    Buffer.from('{"id":"u-5","type":"session.started","project":"atlas","session":"s-\\u0000x"}'),
  ];
  for (const body of bodies) {
    const r = await exchange(Buffer.concat([Buffer.from(`${eventsHead()}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`), body]));
    const a = parse(r.text);
    assert.equal(a.status, 400, `${body.toString('latin1')}: ${r.text.slice(0, 300)}`);
    assert.ok(a.json.error.message.length > 5);
  }
  const proposal = Buffer.concat([Buffer.from('{"kind":"self-serve","project":"atlas","input":{"what":"'), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]), Buffer.from('"}}')]);
  const p = await exchange(Buffer.concat([Buffer.from(`POST /api/v1/proposals HTTP/1.1\r\nHost: x\r\nCookie: ${portal.session.cookie}\r\n` +
    `X-CSRF-Token: ${portal.session.csrf}\r\nContent-Type: application/json\r\nContent-Length: ${proposal.length}\r\nConnection: close\r\n\r\n`), proposal]));
  assert.equal(parse(p.text).status, 400, p.text.slice(0, 300));
  assert.equal(storedEvents(), before);
  assert.equal(storedProposals(), 0);
  await stillServing();
});

const rawGet = (target, extra = '') => exchange(`GET ${target} HTTP/1.1\r\nHost: x\r\nCookie: ${portal.session.cookie}\r\n${extra}Connection: close\r\n\r\n`);

test('bad UTF-8 in the path is refused with 400 naming the path', async () => {
  for (const target of ['/projects/%ff', '/sessions/%c3%28', '/launch/%ed%a0%80', '/proposals/%fe', '/api/v1/proposals/%c0%af', '/assets/%ff.css', '/no-such/%e2%82']) {
    for (const accept of ['text/html', 'application/json']) {
      const r = await rawGet(target, `Accept: ${accept}\r\n`);
      const a = parse(r.text);
      assert.equal(a.status, 400, `${target} (${accept}): ${r.text.slice(0, 200)}`);
      if (accept === 'application/json' || target.startsWith('/api/')) assert.equal(a.json.error.field, 'path', target);
      else assert.match(a.body, /not valid UTF-8/);
    }
  }
  await stillServing();
});

test('bad UTF-8 in the query string is refused with 400 naming the parameter', async () => {
  const cases = [['/proposals?project=%ff', 'project'], ['/api/v1/proposals?state=%c3%28', 'state'],
    ['/operator?x=%ed%a0%80', 'x'], ['/login?next=%ff', 'next'], ['/api/v1/projection/sessions?cursor=%fe', 'cursor']];
  for (const [target, field] of cases) {
    const r = await rawGet(target, 'Accept: application/json\r\n');
    const a = parse(r.text);
    assert.equal(a.status, 400, `${target}: ${r.text.slice(0, 200)}`);
    assert.equal(a.json.error.field, field, target);
  }
  await stillServing();
});

test('bad UTF-8 in form fields is refused with 400 naming the field, and nothing is stored', async () => {
  const cases = [
    ['/login', 'user=%ff%fe&password=whatever', 'user', false],
    ['/proposals', `kind=self-serve&project=atlas&what=%c3%28&csrf=${encodeURIComponent(portal.session.csrf)}`, 'what', true],
    ['/proposals/p-1/reject', `reason=%ed%a0%80&csrf=${encodeURIComponent(portal.session.csrf)}`, 'reason', true],
  ];
  for (const [path, body, field, auth] of cases) {
    const r = await request(`${portal.url}${path}`, {
      method: 'POST', auth, body, headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    });
    assert.equal(r.status, 400, `${path}: ${r.text.slice(0, 200)}`);
    assert.equal(r.json.error.field, field, path);
  }
  assert.equal(storedProposals(), 0);
  await stillServing();
});

test('path traversal on static assets never reaches a file', async () => {
  // A real asset first, so the attacks below have something to miss.
  const page = await request(`${portal.url}/operator`);
  const css = /href="(\/assets\/[^"?]+\.css)/.exec(page.text)?.[1];
  assert.ok(css, 'the page links a stylesheet');
  assert.equal((await rawGet(css)).text.split('\r\n')[0], 'HTTP/1.1 200 OK');
  const targets = [
    '/assets/../../../../etc/passwd', '/assets/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/assets/..%2f..%2f..%2fetc%2fpasswd',
    '/assets/%252e%252e%252f%252e%252e%252fetc%252fpasswd', '/assets/..\\..\\..\\etc\\passwd', '/assets/%5c..%5c..%5cetc%5cpasswd',
    `${css}%00.png`, '/assets/%00', '/assets//etc/passwd', '/assets/%2fetc%2fpasswd', '/assets/%2e%2e', '/assets/..',
    '/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', 'http://127.0.0.1/../../etc/passwd', '/assets/....//....//etc/passwd',
    '/assets/%c0%ae%c0%ae/etc/passwd', '/assets/app.css/..%2f..%2fportal.db',
  ];
  for (const target of targets) {
    const r = await rawGet(target);
    const a = parse(r.text);
    assert.ok([400, 404].includes(a.status), `${target}: ${r.text.slice(0, 200)}`);
    assert.doesNotMatch(a.body, /root:|SQLite format|\[boot loader\]/, target);
  }
  await stillServing();
});

test('CR and LF in a reflected value cannot split the response', async () => {
  const injected = (headers) => Object.keys(headers).some((h) => h === 'x-injected' || h === 'set-cookie' && /pwned/.test(headers[h]));
  // A signed-out visit keeps its way back in the sign-in link.
  for (const target of ['/operator%0d%0aX-Injected:%201', '/proposals?q=%0d%0aSet-Cookie:%20pwned=1', '/login?next=%2F%0d%0aX-Injected:%201']) {
    const r = await exchange(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const a = parse(r.text);
    assert.ok(a.status > 0, r.text.slice(0, 200));
    assert.ok(!injected(a.headers), `${target}: ${a.lines.join(' | ')}`);
    if (a.headers.location) assert.doesNotMatch(a.headers.location, /[\r\n]/);
  }
  // After signing in, `next` lands only on a same-origin path.
  const form = await request(`${portal.url}/login?next=%2Fok`, { auth: false });
  const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)[1];
  const pre = /portal_pre=([^;]+)/.exec(form.headers['set-cookie'])[1];
  const body = `csrf=${encodeURIComponent(csrf)}&user=nobody&password=wrong-password&next=%2F%0d%0aX-Injected:%201`;
  const post = await exchange(`POST /login HTTP/1.1\r\nHost: x\r\nCookie: portal_pre=${pre}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
    `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  assert.ok(!injected(parse(post.text).headers), post.text.slice(0, 300));
  // A bare CR is a line end to an event stream: a Last-Event-ID carrying one
  // must not add a line of its own to the stream.
  const sock = net.connect(portal.port, '127.0.0.1');
  let stream = '';
  sock.setEncoding('latin1');
  sock.on('data', (d) => { stream += d; });
  sock.on('error', () => {});
  sock.write(`GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nCookie: ${portal.session.cookie}\r\nLast-Event-ID: 1\rdata: injected\rid: 9\r\n\r\n`);
  await new Promise((r) => setTimeout(r, 1000));
  sock.destroy();
  assert.doesNotMatch(stream, /injected/);
  assert.ok(!injected(parse(stream).headers));
  await stillServing();
});
