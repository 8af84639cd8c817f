import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { verifyPassword } from '../../src/services/passwords.js';
import { createTestDatabase, type TestDatabase } from '../support/app.js';
import { ROOT } from '../support/server.js';

let db: TestDatabase;
let client: pg.Client;

before(async () => {
  db = await createTestDatabase({ migrated: true });
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});
after(async () => {
  await client.end();
  await db.drop();
});

/** `npm run create-admin -- …args`, as an admin runs it, with no terminal attached. */
async function createAdmin(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/cli/create-admin.ts', ...args],
      { cwd: ROOT, env: { ...process.env, DATABASE_URL: db.url, NODE_ENV: 'development', ...env } },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

async function userRow(username: string) {
  const { rows } = await client.query<{ role: string; email: string; password_hash: string; confirmed: boolean }>(
    'SELECT role, email, password_hash, email_confirmed_at IS NOT NULL AS confirmed FROM users WHERE username = $1',
    [username],
  );
  return rows[0];
}

test('with ADMIN_PASSWORD › creates an admin who can log in with that password', async () => {
  const result = await createAdmin(['Chief_Editor', 'Chief@Example.org'], {
    ADMIN_PASSWORD: 'a long admin passphrase',
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /Created the admin account "chief_editor"/);
  const row = await userRow('chief_editor');
  assert.equal(row?.role, 'admin');
  assert.equal(row?.email, 'chief@example.org');
  assert.equal(row.confirmed, true, 'an admin made from the shell has a confirmed address');
  assert.ok(await verifyPassword(row.password_hash, 'a long admin passphrase'));
  const mailed = await client.query('SELECT 1 FROM mail_outbox WHERE recipient = $1', ['chief@example.org']);
  assert.equal(mailed.rowCount, 0, 'no confirmation link for an address taken as confirmed');
});

test('a username that exists › refused, the account untouched', async () => {
  const before = await userRow('chief_editor');
  const result = await createAdmin(['chief_editor', 'other@example.org'], {
    ADMIN_PASSWORD: 'another long passphrase',
  });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /username is taken/);
  assert.deepEqual(await userRow('chief_editor'), before);
});

test('a weak password, a bad username or email, or missing arguments › refused with the reason, nothing written', async () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['weak_admin', 'weak@example.org'], { ADMIN_PASSWORD: 'password123' }, /most common/],
    [['no spaces', 'x@example.org'], { ADMIN_PASSWORD: 'a long admin passphrase' }, /3 to 30 letters/],
    [['good_name', 'not-an-email'], { ADMIN_PASSWORD: 'a long admin passphrase' }, /not an email address/],
    [[], { ADMIN_PASSWORD: 'a long admin passphrase' }, /Usage: npm run create-admin/],
    [['no_password', 'np@example.org'], { ADMIN_PASSWORD: '' }, /Set ADMIN_PASSWORD, or run this on a terminal/],
  ];
  for (const [args, env, message] of cases) {
    const result = await createAdmin(args, env);
    assert.equal(result.code, 1, args.join(' '));
    assert.match(result.stderr, message);
  }
  const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM users WHERE role = 'admin'");
  assert.equal(Number(rows[0]?.n), 1);
});
