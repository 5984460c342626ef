// `portal user`: local accounts from the shell. Passwords come from stdin or
// are generated and printed once; only an argon2id hash is stored, and no
// listing shows either. Changing a password or disabling an account ends its
// sign-in sessions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  binPath, freshDb, dbSql as sql, dbDump as dump, dbTouched, onPg, SYNC_MS,
} from '../lib/portal.mjs';

const bin = binPath();
const PASSWORD = 'correct horse battery staple';

// Runs `portal user ...` on db with nothing inherited that could steer it.
function user(db, args, { input, env = {} } = {}) {
  const full = db ? [...args, '--db', db] : args;
  return spawnSync(bin, ['user', ...full], {
    encoding: 'utf8',
    input: input ?? '',
    env: { PATH: process.env.PATH, ...env },
    timeout: SYNC_MS,
  });
}


// Signs the account in `n` times behind the CLI's back, as the server would.
function addLogins(db, name, n) {
  for (let i = 0; i < n; i++) {
    sql(db, `INSERT INTO portal_logins (hash, user_id, created_at, last_seen_at, expires_at)
             SELECT ${onPg ? "decode(md5(random()::text) || md5(random()::text), 'hex')" : 'randomblob(32)'}, id, 1, 1, 9000000000000000
             FROM portal_users WHERE name = '${name}'`);
  }
}
const logins = (db, name) =>
  Number(sql(db, `SELECT count(*) FROM portal_logins JOIN portal_users ON id = user_id WHERE name = '${name}'`));

function addWithPassword(db, name, role, password = PASSWORD) {
  const r = user(db, ['add', '--name', name, '--role', role, '--password-stdin'], { input: `${password}\n` });
  assert.equal(r.status, 0, r.stderr);
  return r;
}

test('add reads the password from stdin and stores only its argon2id hash', () => {
  const db = freshDb();
  const r = addWithPassword(db, 'alice', 'operator');
  assert.equal(r.stdout, "account 'alice' (operator) created\n");
  assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD), 'the password is not echoed');
  assert.equal(sql(db, "SELECT role || ' ' || disabled FROM portal_users WHERE name = 'alice'"), 'operator 0');
  assert.match(sql(db, "SELECT pw_hash FROM portal_users WHERE name = 'alice'"), /^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$/);
  assert.ok(!dump(db).includes(PASSWORD), 'the password is not in the database');
});

test('a password line may end in CRLF or no newline at all', () => {
  const db = freshDb();
  for (const [name, input] of [['crlf', `${PASSWORD}\r\n`], ['bare', PASSWORD]]) {
    const r = user(db, ['add', '--name', name, '--role', 'viewer', '--password-stdin'], { input });
    assert.equal(r.status, 0, r.stderr);
  }
  assert.equal(sql(db, 'SELECT count(*) FROM portal_users'), '2');
});

test('without --password-stdin a strong password is generated and printed once', () => {
  const db = freshDb();
  const r = user(db, ['add', '--name', 'bob', '--role', 'viewer']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^[A-Za-z0-9_-]{20}\n$/, 'stdout holds the password alone');
  const pw = r.stdout.trim();
  assert.match(r.stderr, /account 'bob' \(viewer\) created; its password is shown only now/);
  assert.ok(!r.stderr.includes(pw));
  assert.ok(!dump(db).includes(pw), 'the password is not in the database');
  const list = user(db, ['list']);
  assert.ok(!list.stdout.includes(pw) && !list.stderr.includes(pw));
  // A second account gets a different one.
  const other = user(db, ['add', '--name', 'bobby', '--role', 'viewer']);
  assert.notEqual(other.stdout.trim(), pw);
});

test('a duplicate name is refused with exit 1 and the first account is left as it was', () => {
  const db = freshDb();
  addWithPassword(db, 'alice', 'viewer');
  const before = sql(db, "SELECT pw_hash FROM portal_users WHERE name = 'alice'");
  const r = user(db, ['add', '--name', 'alice', '--role', 'admin']);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '', 'no password is printed for an account that was not made');
  assert.match(r.stderr, /^portal user add: an account named 'alice' already exists$/m);
  assert.equal(sql(db, "SELECT role FROM portal_users WHERE name = 'alice'"), 'viewer');
  assert.equal(sql(db, "SELECT pw_hash FROM portal_users WHERE name = 'alice'"), before);
});

test('a bad role or name is refused naming the option, and nothing is stored', () => {
  const db = freshDb();
  let r = user(db, ['add', '--name', 'carol', '--role', 'root']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--role: 'root' is not a role; use viewer, operator, approver or admin/);
  r = user(db, ['add', '--name', 'Carol', '--role', 'viewer']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--name: an account name is 1-63 characters of a-z, 0-9, '\.', '_' or '-'/);
  r = user(db, ['add', '--name', 'x'.repeat(64), '--role', 'viewer']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--name: /);
  assert.equal(r.stdout, '');
  assert.ok(!dbTouched(db), 'arguments are checked before the database is touched');
});

test('a missing --name or --role, or an option a sub-command lacks, is a usage error (2)', () => {
  const db = freshDb();
  let r = user(db, ['add', '--role', 'viewer']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /portal user add: give the account's name \(--name NAME\)/);
  r = user(db, ['add', '--name', 'dave']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--role/);
  for (const sub of ['passwd', 'disable', 'enable', 'signout']) {
    r = user(db, [sub]);
    assert.equal(r.status, 2, sub);
    assert.match(r.stderr, new RegExp(`portal user ${sub}: give the account's name`));
  }
  r = user(db, ['disable', '--name', 'dave', '--password-stdin']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown option '--password-stdin'/);
});

test('an unacceptable password from stdin is refused with the reason and never echoed', () => {
  const db = freshDb();
  const cases = [
    ['', /stdin is empty/],
    ['tiny\n', /shorter than 12 characters/],
    [`${'p'.repeat(257)}\n`, /longer than 256 characters/],
    ['tab\tinside the password\n', /control character/],
  ];
  for (const [input, why] of cases) {
    const r = user(db, ['add', '--name', 'erin', '--role', 'viewer', '--password-stdin'], { input });
    assert.equal(r.status, 1, JSON.stringify(input));
    assert.match(r.stderr, /^portal user add: --password-stdin: /m);
    assert.match(r.stderr, why);
    if (input.trim()) assert.ok(!r.stderr.includes(input.trim()) && !r.stdout.includes(input.trim()));
  }
  assert.equal(sql(db, 'SELECT count(*) FROM portal_users'), '0');
});

test('list shows name, role, state and creation time, never a hash or a password', () => {
  const db = freshDb();
  let r = user(db, ['list']);
  assert.equal(r.status, 0);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /no accounts yet: portal user add/);

  addWithPassword(db, 'zed', 'admin');
  addWithPassword(db, 'amy', 'approver');
  assert.equal(user(db, ['disable', '--name', 'zed']).status, 0);
  r = user(db, ['list']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[0], /^amy\s+approver\s+enabled\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.match(lines[1], /^zed\s+admin\s+disabled\s+\d{4}-/);
  for (const out of [r.stdout, r.stderr]) {
    assert.ok(!out.includes('$argon2'), 'no hash');
    assert.ok(!out.includes(PASSWORD), 'no password');
  }
});

test('list --json gives the same facts as an array, without hashes', () => {
  const db = freshDb();
  assert.deepEqual(JSON.parse(user(db, ['list', '--json']).stdout), []);
  addWithPassword(db, 'amy', 'approver');
  const r = user(db, ['list', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const list = JSON.parse(r.stdout);
  assert.equal(list.length, 1);
  const [amy] = list;
  assert.deepEqual(Object.keys(amy).sort(), ['created', 'created_at', 'name', 'role', 'state', 'updated_at']);
  assert.equal(amy.name, 'amy');
  assert.equal(amy.role, 'approver');
  assert.equal(amy.state, 'enabled');
  assert.ok(amy.created_at > 1700000000000);
  assert.equal(new Date(amy.created).getTime(), amy.created_at);
  assert.ok(!r.stdout.includes('argon2') && !r.stdout.includes(PASSWORD));
});

test('passwd from stdin changes the hash and signs the account out everywhere', () => {
  const db = freshDb();
  addWithPassword(db, 'alice', 'operator');
  addWithPassword(db, 'bob', 'viewer');
  addLogins(db, 'alice', 2);
  addLogins(db, 'bob', 1);
  const before = sql(db, "SELECT pw_hash FROM portal_users WHERE name = 'alice'");
  const next = 'a brand new passphrase';
  const r = user(db, ['passwd', '--name', 'alice', '--password-stdin'], { input: `${next}\n` });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "password of 'alice' changed; 2 sign-in sessions ended\n");
  assert.ok(!r.stdout.includes(next) && !r.stderr.includes(next));
  const after = sql(db, "SELECT pw_hash FROM portal_users WHERE name = 'alice'");
  assert.notEqual(after, before);
  assert.match(after, /^\$argon2id\$/);
  assert.equal(logins(db, 'alice'), 0);
  assert.equal(logins(db, 'bob'), 1, "another account's sign-ins stay");
});

test('passwd without stdin prints a generated password once; a bad one changes nothing', () => {
  const db = freshDb();
  addWithPassword(db, 'alice', 'operator');
  addLogins(db, 'alice', 1);
  const before = sql(db, "SELECT pw_hash FROM portal_users WHERE name = 'alice'");
  let r = user(db, ['passwd', '--name', 'alice', '--password-stdin'], { input: 'short\n' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /shorter than 12 characters/);
  assert.equal(sql(db, "SELECT pw_hash FROM portal_users WHERE name = 'alice'"), before);
  assert.equal(logins(db, 'alice'), 1, 'a refused change signs nobody out');

  r = user(db, ['passwd', '--name', 'alice']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^[A-Za-z0-9_-]{20}\n$/);
  assert.match(r.stderr, /password of 'alice' changed \(shown only now.*\); 1 sign-in session ended/);
  assert.ok(!dump(db).includes(r.stdout.trim()));
  assert.equal(logins(db, 'alice'), 0);
});

test('disable signs the account out everywhere; enable lets it back in with no old sessions', () => {
  const db = freshDb();
  addWithPassword(db, 'alice', 'admin');
  addLogins(db, 'alice', 3);
  let r = user(db, ['disable', '--name', 'alice']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "account 'alice' disabled\n");
  assert.equal(sql(db, "SELECT disabled FROM portal_users WHERE name = 'alice'"), '1');
  assert.equal(logins(db, 'alice'), 0);
  r = user(db, ['disable', '--name', 'alice']);
  assert.equal(r.status, 0);
  assert.equal(r.stdout, "account 'alice' was already disabled\n");

  r = user(db, ['enable', '--name', 'alice']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "account 'alice' enabled\n");
  assert.equal(sql(db, "SELECT disabled FROM portal_users WHERE name = 'alice'"), '0');
  assert.equal(logins(db, 'alice'), 0);
  r = user(db, ['enable', '--name', 'alice']);
  assert.equal(r.status, 0);
  assert.equal(r.stdout, "account 'alice' was already enabled\n");
});

test('passwd on a disabled account keeps it disabled and says so', () => {
  const db = freshDb();
  addWithPassword(db, 'alice', 'viewer');
  user(db, ['disable', '--name', 'alice']);
  const r = user(db, ['passwd', '--name', 'alice', '--password-stdin'], { input: 'yet another password\n' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /the account stays disabled/);
  assert.equal(sql(db, "SELECT disabled FROM portal_users WHERE name = 'alice'"), '1');
});

test('signout ends every sign-in session of one account and says how many', () => {
  const db = freshDb();
  addWithPassword(db, 'alice', 'operator');
  addWithPassword(db, 'bob', 'operator');
  addLogins(db, 'alice', 2);
  addLogins(db, 'bob', 1);
  let r = user(db, ['signout', '--name', 'alice']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "2 sign-in sessions of 'alice' ended\n");
  assert.equal(logins(db, 'alice'), 0);
  assert.equal(logins(db, 'bob'), 1);
  r = user(db, ['signout', '--name', 'bob']);
  assert.equal(r.stdout, "1 sign-in session of 'bob' ended\n");
  r = user(db, ['signout', '--name', 'bob']);
  assert.equal(r.status, 0);
  assert.equal(r.stdout, "0 sign-in sessions of 'bob' ended\n");
  assert.equal(sql(db, "SELECT disabled FROM portal_users WHERE name = 'alice'"), '0', 'signing out is not disabling');
});

test('an unknown account is exit 1, named, for every sub-command that takes one', () => {
  const db = freshDb();
  for (const sub of ['passwd', 'disable', 'enable', 'signout']) {
    const r = user(db, [sub, '--name', 'nobody'], { input: `${PASSWORD}\n` });
    assert.equal(r.status, 1, sub);
    assert.equal(r.stdout, '', `${sub} prints nothing on stdout, and no password`);
    assert.match(r.stderr, new RegExp(`^portal user ${sub}: no account is named 'nobody'$`, 'm'));
  }
});

test('user and each sub-command explain themselves with --help; an unknown one exits 2', () => {
  let r = user(null, ['--help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^usage: portal user/);
  for (const sub of ['add', 'passwd', 'disable', 'enable', 'signout', 'list']) {
    r = user(null, [sub, '--help']);
    assert.equal(r.status, 0, sub);
    assert.match(r.stdout, new RegExp(`^usage: portal user ${sub} `), sub);
    assert.match(r.stdout, /--db PATH/, sub);
  }
  assert.match(user(null, ['add', '--help']).stdout, /--password-stdin/);
  assert.match(user(null, ['list', '--help']).stdout, /--json/);
  r = user(null, []);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^usage: portal user/);
  r = user(null, ['frobnicate']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown sub-command 'frobnicate' \(add, passwd, disable, enable, signout, list\)/);
});

test('the database comes from PORTAL_DB when --db is not given', () => {
  const db = freshDb();
  const r = user(null, ['add', '--name', 'envy', '--role', 'viewer', '--password-stdin'], {
    input: `${PASSWORD}\n`, env: { PORTAL_DB: db },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(sql(db, "SELECT name FROM portal_users"), 'envy');
});
