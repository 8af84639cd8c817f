// The app through PgBouncer in transaction pooling mode (Debian's pgbouncer package): many
// app connections share 3 server connections, one transaction at a time, so nothing may
// rely on session state between statements. The database's own TimeZone is not UTC here,
// to catch anything that leans on a SET TIME ZONE a pooled session would not keep.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/app.js';
import { freePort } from '../support/ports.js';
import { csrfTokenIn, Visitor } from '../support/browser.js';
import { PASSWORD } from '../support/factories.js';
import { send } from '../support/http.js';
import { killServers, startServer, type ServerProcess } from '../support/server.js';
import { counterMismatches, createUsers, scalar, sqlPool } from '../support/sql.js';
import { waitFor } from '../support/wait.js';

const PGBOUNCER = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((file) => fs.existsSync(file));
const SERVER_CONNECTIONS = 3;

let database: TestDatabase;
let db: pg.Pool;
let bouncer: ChildProcess | undefined;
let dir: string;
let server: ServerProcess;

/** PgBouncer in front of the test database, as nobody (it refuses to run as root). */
async function startPgBouncer(url: URL): Promise<number> {
  const port = await freePort();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'users-and-posts-pgbouncer-'));
  fs.chmodSync(dir, 0o777);
  const target = [
    `host=${url.hostname}`,
    `port=${url.port}`,
    `dbname=${decodeURIComponent(url.pathname.slice(1))}`,
    `user=${decodeURIComponent(url.username)}`,
    `password=${decodeURIComponent(url.password)}`,
  ].join(' ');
  const ini = path.join(dir, 'pgbouncer.ini');
  fs.writeFileSync(
    ini,
    [
      '[databases]',
      `app = ${target}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      // Loopback and a throwaway database: clients need no password; the server login is above.
      'auth_type = any',
      'pool_mode = transaction',
      `default_pool_size = ${SERVER_CONNECTIONS}`,
      'max_client_conn = 200',
      // Session settings cannot ride on the startup packet through a pooler: the database
      // carries them instead (ALTER DATABASE … SET, below and in docs/configuration.md).
      'ignore_startup_parameters = statement_timeout,idle_in_transaction_session_timeout,extra_float_digits',
      `logfile = ${path.join(dir, 'pgbouncer.log')}`,
      `pidfile = ${path.join(dir, 'pgbouncer.pid')}`,
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const args = process.getuid?.() === 0 ? ['-u', 'nobody', ini] : [ini];
  bouncer = spawn(PGBOUNCER!, args, { stdio: 'ignore' });
  await waitFor(
    'PgBouncer to listen',
    async () => {
      const reply = await send(port, { path: '/', timeoutMs: 500 }).catch((error: NodeJS.ErrnoException) => error);
      // Any answer but a refused connection means it listens (it speaks PostgreSQL, not HTTP).
      return (reply as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? undefined : true;
    },
    { withinMs: 10_000, everyMs: 100 },
  );
  return port;
}

before(async () => {
  if (!PGBOUNCER) return;
  database = await createTestDatabase({ migrated: true });
  db = sqlPool(database.url);
  const url = new URL(database.url);
  const name = decodeURIComponent(url.pathname.slice(1));
  await db.query(`ALTER DATABASE "${name}" SET timezone = 'America/New_York'`);
  await db.query(`ALTER DATABASE "${name}" SET statement_timeout = '20s'`);
  const port = await startPgBouncer(url);
  server = await startServer(`postgres://app:unused@127.0.0.1:${port}/app`, { DB_POOL_MAX: '10' });
});

after(async () => {
  await killServers();
  bouncer?.kill('SIGTERM');
  await db?.end();
  await database?.drop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('through PgBouncer (transaction pooling)', { skip: PGBOUNCER ? false : 'pgbouncer is not installed' }, () => {
  test('sign up, log in, write, edit and delete posts, change the password, log out', async () => {
    const visitor = new Visitor(server.port);
    const form = await visitor.get('/signup');
    const username = `bouncer_${Date.now().toString(36)}`;
    const signup = await visitor.submit(
      'POST',
      '/signup',
      {
        username,
        email: `${username}@example.com`,
        displayName: 'Pooled Person',
        password: PASSWORD,
        passwordConfirmation: PASSWORD,
      },
      { csrf: csrfTokenIn(form.body) },
    );
    assert.equal(signup.status, 303, `signup answered ${signup.status}${server.tail()}`);
    // Logged in by the signup itself.
    const newPostForm = await visitor.get('/posts/new');
    assert.equal(newPostForm.status, 200);
    visitor.csrf = csrfTokenIn(newPostForm.body);

    const created = await visitor.createPost('Through the pooler');
    assert.equal(created.status, 303, server.tail());
    const postPath = String(created.headers.location);
    const edited = await visitor.submit(
      'PUT',
      postPath,
      { title: 'Edited through the pooler', body: 'Still here.', published: 'on' },
      { csrf: visitor.csrf },
    );
    assert.equal(edited.status, 303, server.tail());
    assert.match((await visitor.get(postPath)).body, /Edited through the pooler/);

    // The profile's weekly chart counts this week's post, whatever the database's TimeZone.
    const profile = await visitor.get(`/users/${username}`);
    assert.equal(profile.status, 200);
    assert.match(profile.body, /1 post published in the last 12 months, in 1 of 52 weeks/);

    const deleted = await visitor.submit('DELETE', postPath, {}, { csrf: visitor.csrf });
    assert.equal(deleted.status, 303, server.tail());
    assert.equal((await visitor.get(postPath)).status, 404);

    const changed = await visitor.submit(
      'PUT',
      `/users/${username}/password`,
      {
        currentPassword: PASSWORD,
        newPassword: 'another-good-long-password',
        newPasswordConfirmation: 'another-good-long-password',
      },
      { csrf: visitor.csrf },
    );
    assert.equal(changed.status, 303, `password change answered ${changed.status}${server.tail()}`);
    const newPost = await visitor.get('/posts/new');
    assert.equal(newPost.status, 200, 'the session did not survive its own password change');
    const logout = await visitor.submit('POST', '/logout', {}, { csrf: csrfTokenIn(newPost.body) });
    assert.equal(logout.status, 303);
    assert.equal((await visitor.get('/posts/new')).status, 303);
  });

  test('40 posts written at once by 8 people share 3 server connections; every counter exact', async () => {
    const authors = await createUsers(db, 8, 'pooled');
    const visitors = await Promise.all(
      authors.map(async (author) => {
        const visitor = new Visitor(server.port);
        await visitor.logInToPost(author.username);
        return visitor;
      }),
    );
    const replies = await Promise.all(
      visitors.flatMap((visitor, v) =>
        Array.from({ length: 5 }, (_, i) => visitor.createPost(`Pooled ${v}.${i}`, { timeoutMs: 20_000 })),
      ),
    );
    assert.deepEqual(
      replies.map((reply) => reply.status),
      Array<number>(40).fill(303),
      server.tail(),
    );
    assert.equal(await scalar<number>(db, `SELECT count(*)::int FROM posts WHERE title LIKE 'Pooled %'`), 40);
    assert.equal(await counterMismatches(db), 0);
    const reads = await Promise.all(Array.from({ length: 20 }, () => send(server.port, { path: '/posts' })));
    assert.deepEqual(
      reads.map((reply) => reply.status),
      Array<number>(20).fill(200),
    );
    // PgBouncer kept to its pool: the app's sessions on the server are its few connections.
    const serverSessions = await scalar<number>(
      db,
      `SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
          AND application_name <> 'fault-test'`,
    );
    assert.ok(serverSessions <= SERVER_CONNECTIONS, `${serverSessions} server sessions`);
  });

  test('prepared statements: kept by PgBouncer from 1.21, else every read runs unnamed after one warning', () => {
    const version = /PgBouncer (\d+)\.(\d+)/.exec(execFileSync(PGBOUNCER!, ['--version'], { encoding: 'utf8' }));
    assert.ok(version, 'pgbouncer --version printed no version');
    const keepsThem = Number(version[1]) > 1 || Number(version[2]) >= 21;
    const warnings = server
      .logs()
      .filter((entry) => typeof entry.msg === 'string' && entry.msg.startsWith('prepared statements are not kept'));
    // Debian 12's 1.18 does not: the pages above all answered while the app fell back.
    assert.equal(warnings.length, keepsThem ? 0 : 1, server.tail());
  });
});

// Keeps the pgbouncer binary's absence from being silent in CI, where .ci/run installs it.
if (!PGBOUNCER && process.env.CI) throw new Error('pgbouncer is not installed: .ci/run should have installed it');
