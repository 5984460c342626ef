// `portal check --audit`: verifying the proposal audit chain of a database
// file from the command line, without a configuration and without changing
// the file. Chains with real rows are covered by the unit tests, which write
// them through the store; here a row is forged by hand the way someone
// editing the file with the sqlite3 shell (or psql) would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { binPath, tempDir, freshDb, dbSql as sql, onPg, pgDatabaseUrl, SYNC_MS } from '../lib/portal.mjs';

const bin = binPath();
const env = { PATH: process.env.PATH };
const run = (args) => spawnSync(bin, args, { encoding: 'utf8', env, timeout: SYNC_MS });
// 32 zero bytes and 32 random ones, in each dialect.
const ZEROS = onPg ? "decode(repeat('00', 32), 'hex')" : 'zeroblob(32)';
const RANDOM = onPg ? "decode(md5(random()::text) || md5(random()::text), 'hex')" : 'randomblob(32)';

function migrated() {
  const db = freshDb();
  const r = run(['migrate', '--db', db]);
  assert.equal(r.status, 0, r.stderr);
  return db;
}

test('an empty migrated database has an intact chain of 0 rows', () => {
  const db = migrated();
  const r = run(['check', '--audit', '--db', db]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'audit: 0 rows, chain intact\n');
});

test('check --audit is described by check --help', () => {
  const r = run(['check', '--help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /--audit/);
  assert.match(r.stdout, /chain intact/);
});

test('a database that does not exist is reported and not created', () => {
  const name = `missing_${process.pid}`;
  const db = onPg ? pgDatabaseUrl(name) : path.join(tempDir(), 'missing.db');
  const r = run(['check', '--audit', '--db', db]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /does not exist/);
  if (onPg) assert.equal(sql(pgDatabaseUrl('postgres'), `SELECT count(*) FROM pg_database WHERE datname = '${name}'`), '0');
  else assert.equal(fs.existsSync(db), false);
});

test('a database behind the schema is sent to portal migrate and left unmigrated', () => {
  const db = onPg ? freshDb() : path.join(tempDir(), 'old.db');
  sql(db, 'CREATE TABLE unrelated (a integer)');
  const r = run(['check', '--audit', '--db', db]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /run `portal migrate`/);
  assert.equal(sql(db, onPg ? "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'portal_audit'"
    : "SELECT count(*) FROM sqlite_master WHERE name = 'portal_audit'"), '0');
});

test('a row forged by hand is named as the first broken one, and the exit status is 1', () => {
  const db = migrated();
  sql(db, `INSERT INTO portal_proposals (id, kind, project, proposer, input, state, created_at, updated_at)
           VALUES ('p-00000000000000aa', 'restart', 'atlas', 'mallory', '{}', 'approved', 1, 1);
           INSERT INTO portal_audit (seq, proposal, from_state, to_state, actor, at, prev, hash)
           VALUES (1, 'p-00000000000000aa', '', 'approved', 'mallory', 1, ${ZEROS}, ${RANDOM});`);
  const r = run(['check', '--audit', '--db', db]);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^audit: row 1 \(proposal p-00000000000000aa\) is broken: its hash does not match/m);
});

test('the log itself refuses an edit or a deletion', () => {
  const db = migrated();
  sql(db, `INSERT INTO portal_proposals (id, kind, project, proposer, input, state, created_at, updated_at)
           VALUES ('p-00000000000000bb', 'restart', 'atlas', 'alice', '{}', 'submitted', 1, 1);
           INSERT INTO portal_audit (seq, proposal, from_state, to_state, actor, at, prev, hash)
           VALUES (1, 'p-00000000000000bb', '', 'submitted', 'alice', 1, ${ZEROS}, ${ZEROS});`);
  assert.throws(() => sql(db, "UPDATE portal_audit SET actor = 'mallory'"), /append-only/);
  assert.throws(() => sql(db, 'DELETE FROM portal_audit'), /append-only/);
});
