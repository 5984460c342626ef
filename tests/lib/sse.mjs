// Reading server-sent events (/api/v1/stream) in tests: whole messages only,
// and a bounded wait for the ones a test expects.
import { slow } from './portal.mjs';

/**
 * Moves the whole messages at the front of buf (text of an event stream)
 * into messages as {event, id, data, json}, skipping comments and messages
 * without data; returns the rest of buf, a message not yet ended by its
 * blank line.
 */
export function takeMessages(buf, messages) {
  let i;
  while ((i = buf.indexOf('\n\n')) >= 0) {
    const block = buf.slice(0, i);
    buf = buf.slice(i + 2);
    const m = {};
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const c = line.indexOf(':');
      const k = line.slice(0, c), v = line.slice(c + 1).replace(/^ /, '');
      m[k] = k === 'data' ? (m.data ?? '') + v : v;
    }
    if (m.data) { m.json = JSON.parse(m.data); messages.push(m); }
  }
  return buf;
}

// Reads server-sent events from a fetch Response until `until(messages)`
// holds (or the stream ends), for at most ms (times PORTAL_TEST_SLOW); each
// message is {event, id, data, json}.
export async function readEvents(res, until, ms = 10000) {
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  const messages = [];
  let buf = '';
  const deadline = Date.now() + ms * slow;
  let pending = reader.read();
  while (!until(messages)) {
    if (Date.now() > deadline) {
      reader.cancel().catch(() => {});
      throw new Error(`timed out after ${(ms * slow) / 1000} s waiting for: the awaited events on ${res.url}; got ${JSON.stringify(messages.map((m) => [m.event, m.id]))}`);
    }
    const tick = new Promise((r) => setTimeout(() => r(null), 200));
    const got = await Promise.race([pending, tick]);
    if (!got) continue;
    pending = reader.read();
    if (got.done) break;
    buf += dec.decode(got.value, { stream: true });
    buf = takeMessages(buf, messages);
  }
  reader.cancel().catch(() => {});
  return messages;
}
