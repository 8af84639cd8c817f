// TLS to PostgreSQL, honoured the same way by every path. A server of this file's own takes
// only TLS (pg_hba.conf: hostssl, and hostnossl … reject) with a certificate for localhost
// and 127.0.0.1 signed by a CA made here; a second, unrelated CA stands for a wrong one. It
// also listens on 127.0.0.2, a name its certificate does not have. The runner's own server
// (TEST_SERVER_URL) speaks no TLS: the other side of sslmode=prefer.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { QueryTypes, type Sequelize } from 'sequelize';
import { clientConfig, DatabaseTlsError, parseDatabaseUrl } from '../../src/db/connection.js';
import { createDatabase } from '../../src/db/database.js';
import { postgresPrograms } from '../../src/db/embedded.js';
import { createSequelize, type PoolSettings } from '../../src/db/sequelize.js';
import { freePort } from '../support/ports.js';
import { Visitor } from '../support/browser.js';
import { PASSWORD } from '../support/factories.js';
import { send } from '../support/http.js';
import { killServers, ROOT, startServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

// Where the `postgres` user reaches them, also in a clone under a private directory.
const { bin: BIN, runAs } = postgresPrograms();
const DB_PASSWORD = 'a-tls-test-password';
const SSL_OF_THIS_CONNECTION = 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()';
const SETTINGS: PoolSettings = {
  dbPoolMax: 2,
  dbPoolMin: 0,
  dbAcquireTimeoutMs: 5000,
  dbConnectTimeoutMs: 5000,
  dbStatementTimeoutMs: 10_000,
  dbSlowQueryMs: 10_000,
};

interface TlsServer {
  readonly port: number;
  /** The CA that signed the server's certificate, and one that did not. */
  readonly ca: string;
  readonly otherCa: string;
  /** Every line the server logged. */
  readonly log: string[];
  url(query?: string, host?: string): string;
  stop(): Promise<void>;
}

/** PostgreSQL runs as the `postgres` user when we are root: it must own its files. */
const asRoot = runAs !== undefined;
const postgresUser = runAs ?? {};
const giveToPostgres = (file: string): void => {
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', file]);
};

function makeCertificates(dir: string): void {
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...newKey, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test CA');
  openssl(
    'req',
    '-x509',
    ...newKey,
    '-keyout',
    'other.key',
    '-out',
    'other-ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=other',
  );
  openssl('req', '-new', ...newKey, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  fs.writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName = DNS:localhost, IP:127.0.0.1\n');
  openssl(
    ...['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'],
    ...['-out', 'server.crt', '-days', '2', '-extfile', 'server.ext'],
  );
  // PostgreSQL refuses a key that others may read.
  fs.chmodSync(path.join(dir, 'server.key'), 0o600);
  giveToPostgres(path.join(dir, 'server.key'));
}

async function startTlsServer(): Promise<TlsServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'users-and-posts-tls-'));
  fs.chmodSync(dir, 0o755);
  let server: ChildProcess | undefined;
  try {
    makeCertificates(dir);
    const data = path.join(dir, 'data');
    const passwordFile = path.join(dir, 'password');
    fs.writeFileSync(passwordFile, DB_PASSWORD);
    fs.mkdirSync(data, { mode: 0o700 });
    giveToPostgres(passwordFile);
    giveToPostgres(data);
    execFileSync(
      path.join(BIN, 'initdb'),
      ['-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${passwordFile}`, '-E', 'UTF8', '--no-sync'],
      { ...postgresUser, cwd: dir, stdio: 'pipe' },
    );
    fs.appendFileSync(
      path.join(data, 'postgresql.conf'),
      [
        'ssl = on',
        `ssl_cert_file = '${path.join(dir, 'server.crt')}'`,
        `ssl_key_file = '${path.join(dir, 'server.key')}'`,
        'fsync = off',
        '',
      ].join('\n'),
    );
    fs.writeFileSync(
      path.join(data, 'pg_hba.conf'),
      ['hostnossl all all 0.0.0.0/0 reject', 'hostssl all all 127.0.0.0/8 scram-sha-256', ''].join('\n'),
    );

    const port = await freePort();
    const log: string[] = [];
    server = spawn(
      path.join(BIN, 'postgres'),
      ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1,127.0.0.2', '-c', 'unix_socket_directories='],
      { ...postgresUser, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    for (const stream of [server.stdout, server.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => log.push(...chunk.split('\n').filter(Boolean)));
    }
    const admin = { host: '127.0.0.1', port, user: 'postgres', password: DB_PASSWORD, database: 'postgres' };
    await waitFor(
      'the TLS server to accept connections',
      async () => {
        const client = new pg.Client({ ...admin, ssl: { rejectUnauthorized: false }, connectionTimeoutMillis: 1000 });
        client.on('error', () => undefined);
        try {
          await client.connect();
          return true;
        } catch {
          return undefined;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      { withinMs: 30_000, everyMs: 100 },
    );
    const client = new pg.Client({ ...admin, ssl: { rejectUnauthorized: false } });
    await client.connect();
    await client.query('CREATE DATABASE app');
    await client.end();

    const running = server;
    return {
      port,
      ca: path.join(dir, 'ca.pem'),
      otherCa: path.join(dir, 'other-ca.pem'),
      log,
      url: (query = '', host = '127.0.0.1') =>
        `postgres://postgres:${DB_PASSWORD}@${host}:${port}/app${query === '' ? '' : `?${query}`}`,
      async stop() {
        if (running.exitCode === null) {
          const exited = new Promise((resolve) => running.once('exit', resolve));
          running.kill('SIGINT');
          await exited;
        }
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    server?.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** `url` with its sslmode set, or removed. */
function withSslmode(url: string, sslmode: string | undefined): string {
  const parsed = new URL(url);
  if (sslmode === undefined) parsed.searchParams.delete('sslmode');
  else parsed.searchParams.set('sslmode', sslmode);
  return parsed.toString();
}

async function sslOf(sequelize: Sequelize, options: { useMaster?: boolean } = {}): Promise<boolean | undefined> {
  const rows = await sequelize.query<{ ssl: boolean }>(SSL_OF_THIS_CONNECTION, { type: QueryTypes.SELECT, ...options });
  return rows[0]?.ssl;
}

/** Whether the app's Sequelize on `url` reaches it over TLS (pg_stat_ssl of its own connection). */
async function sequelizeSsl(url: string): Promise<boolean | undefined> {
  const sequelize = createSequelize(url, SETTINGS);
  try {
    return await sslOf(sequelize);
  } finally {
    await sequelize.close();
  }
}

/** How connecting the app's Sequelize to `url` fails. */
async function sequelizeFailure(url: string): Promise<Error> {
  const sequelize = createSequelize(url, SETTINGS);
  try {
    await sequelize.authenticate();
  } catch (error) {
    return error as Error;
  } finally {
    await sequelize.close();
  }
  assert.fail(`connected to ${url}`);
}

interface Run {
  code: number;
  output: string;
}

/** A command in the repo root, as an admin runs it, with `env` added to this process's. */
function run(command: string, args: string[], env: Record<string, string>): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.NODE_TEST_CONTEXT;
  delete childEnv.TEST_SERVER_URL;
  delete childEnv.TEST_TEMPLATE_DATABASE;
  return new Promise((resolve) => {
    execFile(command, args, { cwd: ROOT, env: childEnv, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}\n${stderr}` });
    });
  });
}

let server: TlsServer;
let sql: pg.Client;

before(async () => {
  server = await startTlsServer();
  sql = new pg.Client(await clientConfig(parseDatabaseUrl(server.url('sslmode=require'))));
  await sql.connect();
});

after(async () => {
  await sql?.end();
  await server?.stop();
});

describe('a server that takes only TLS', () => {
  test('sslmode=require › the app’s Sequelize pool and its session store both connect over TLS', async () => {
    const db = createDatabase(server.url('sslmode=require'), SETTINGS);
    try {
      assert.equal(await sslOf(db.sequelize), true);
      const { rows } = await db.sessionPool.query<{ ssl: boolean }>(SSL_OF_THIS_CONNECTION);
      assert.equal(rows[0]?.ssl, true);
    } finally {
      await db.close();
    }
  });

  test('sslmode=disable › refused by the server’s pg_hba.conf', async () => {
    const error = await sequelizeFailure(server.url('sslmode=disable'));
    assert.match(error.message, /pg_hba\.conf rejects connection for host "127\.0\.0\.1".*no encryption/);
  });

  test('verify-full with the server’s CA › connects over TLS', async () => {
    assert.equal(await sequelizeSsl(server.url(`sslmode=verify-full&sslrootcert=${server.ca}`)), true);
  });

  test('verify-full with an unrelated CA › refused by every path, naming the host, sslrootcert and sslmode', async () => {
    const url = server.url(`sslmode=verify-full&sslrootcert=${server.otherCa}`);
    const expected = new RegExp(
      `^TLS to 127\\.0\\.0\\.1:${server.port} failed: the server's certificate is not signed by the CA in ` +
        `sslrootcert=${server.otherCa.replace(/[.]/g, '\\.')} \\(sslmode=verify-full; `,
    );
    assert.match((await sequelizeFailure(url)).message, expected);
    const db = createDatabase(url, SETTINGS);
    try {
      const failure = await db.sessionPool.query('SELECT 1').then(
        () => undefined,
        (error: unknown) => error,
      );
      assert.ok(failure instanceof DatabaseTlsError, String(failure));
      assert.match(failure.message, expected);
    } finally {
      await db.close();
    }
    await assert.rejects(clientConfig(parseDatabaseUrl(url)), { name: 'DatabaseTlsError', message: expected });
  });

  test('require with an unrelated sslrootcert › the chain is checked (as libpq does), and refused', async () => {
    const error = await sequelizeFailure(server.url(`sslmode=require&sslrootcert=${server.otherCa}`));
    assert.match(error.message, /is not signed by the CA in sslrootcert=.*other-ca\.pem \(sslmode=require;/);
  });

  test('verify-full on a host name the certificate lacks › refused clearly; verify-ca with the same CA connects', async () => {
    const error = await sequelizeFailure(server.url(`sslmode=verify-full&sslrootcert=${server.ca}`, '127.0.0.2'));
    assert.match(
      error.message,
      new RegExp(
        `^TLS to 127\\.0\\.0\\.2:${server.port} failed: the server's certificate is not for 127\\.0\\.0\\.2 ` +
          `\\(it is for 127\\.0\\.0\\.1\\) \\(sslmode=verify-full;`,
      ),
    );
    assert.equal(await sequelizeSsl(server.url(`sslmode=verify-ca&sslrootcert=${server.ca}`, '127.0.0.2')), true);
  });

  test('prefer, allow and no sslmode › TLS to this server, and no log line for the server asked first', async () => {
    const logged = server.log.length;
    for (const sslmode of ['prefer', 'allow', undefined]) {
      assert.equal(await sequelizeSsl(withSslmode(server.url(), sslmode)), true, `sslmode=${sslmode}`);
    }
    // Asking the server (SSLRequest, handshake, close) must not fill its log with complaints.
    assert.deepEqual(
      server.log.slice(logged).filter((line) => /could not accept SSL|incomplete startup packet/.test(line)),
      [],
    );
  });

  test('replicas › each URL has its own sslmode: reads over TLS from a replica while the primary is plain', async (t) => {
    const plain = process.env.TEST_SERVER_URL;
    if (!plain) return t.skip('TEST_SERVER_URL is not set: run with npm test');
    const replica = server.url('sslmode=require');
    const sequelize = createSequelize(withSslmode(plain, 'disable'), SETTINGS, undefined, [replica]);
    try {
      assert.equal(await sslOf(sequelize), true, 'a read goes to the replica, over TLS');
      assert.equal(await sslOf(sequelize, { useMaster: true }), false, 'the primary is reached plain');
    } finally {
      await sequelize.close();
    }
    const checked = async (url: string): Promise<boolean | undefined> => {
      const db = createDatabase(withSslmode(plain, 'disable'), SETTINGS, undefined, [url]);
      try {
        return (await db.checkReplicas())[0]?.up;
      } finally {
        await db.close();
      }
    };
    assert.equal(await checked(server.url(`sslmode=verify-full&sslrootcert=${server.ca}`)), true);
    assert.equal(await checked(server.url(`sslmode=verify-full&sslrootcert=${server.otherCa}`)), false);
  });
});

describe('a server without TLS (the test run’s own)', () => {
  test('prefer, allow and no sslmode › plain; require › refused, saying the server offers no TLS', async (t) => {
    const plain = process.env.TEST_SERVER_URL;
    if (!plain) return t.skip('TEST_SERVER_URL is not set: run with npm test');
    if ((await sequelizeSsl(withSslmode(plain, 'prefer'))) === true) {
      return t.skip('the test server speaks TLS (DATABASE_URL): no server without TLS to try');
    }
    for (const sslmode of ['prefer', 'allow', undefined]) {
      assert.equal(await sequelizeSsl(withSslmode(plain, sslmode)), false, `sslmode=${sslmode}`);
    }
    const error = await sequelizeFailure(withSslmode(plain, 'require'));
    assert.match(error.message, /^TLS to .* failed: the server does not offer TLS \(sslmode=require\)$/);
  });
});

describe('the admin commands', () => {
  test('an unknown sslmode › the app refuses to start, naming the value', async () => {
    const result = await run(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      DATABASE_URL: server.url('sslmode=requires'),
      NODE_ENV: 'production',
      SESSION_SECRET: 'a-tls-test-session-secret-of-enough-length',
      PORT: '0',
    });
    assert.notEqual(result.code, 0);
    assert.match(result.output, /DATABASE_URL: sslmode "requires" is not one of disable, allow, prefer, require/);
  });

  test('npx sequelize-cli db:migrate with ?sslmode=require › migrates the TLS-only server', async () => {
    const result = await run('npx', ['sequelize-cli', 'db:migrate'], { DATABASE_URL: server.url('sslmode=require') });
    assert.equal(result.code, 0, result.output);
    assert.doesNotMatch(result.output, /ERROR:/);
    const migrations = fs.readdirSync(path.join(ROOT, 'migrations')).filter((file) => file.endsWith('.ts'));
    const { rows } = await sql.query<{ count: number }>('SELECT count(*)::int AS count FROM "SequelizeMeta"');
    assert.equal(rows[0]?.count, migrations.length);
  });

  test('npx sequelize-cli with an unrelated CA › fails with the message naming sslrootcert', async () => {
    const result = await run('npx', ['sequelize-cli', 'db:migrate:status'], {
      DATABASE_URL: server.url(`sslmode=verify-full&sslrootcert=${server.otherCa}`),
    });
    assert.notEqual(result.code, 0);
    assert.match(
      result.output,
      /TLS to 127\.0\.0\.1:\d+ failed: the server's certificate is not signed by the CA in sslrootcert=/,
    );
  });

  test('npm run create-admin with ?sslmode=require › creates the admin on the TLS-only server', async () => {
    const result = await run('npm', ['run', '--silent', 'create-admin', '--', 'tls_admin', 'tls_admin@example.com'], {
      DATABASE_URL: server.url('sslmode=require'),
      ADMIN_PASSWORD: PASSWORD,
      NODE_ENV: 'development',
    });
    assert.equal(result.code, 0, result.output);
    const { rows } = await sql.query<{ role: string }>('SELECT role FROM users WHERE username = $1', ['tls_admin']);
    assert.equal(rows[0]?.role, 'admin');
  });

  test('the volume seeder with ?sslmode=require › its helper connections reach the TLS-only server too', async () => {
    // Into an empty posts table, any load is a bulk one: helper connections compute the vectors.
    const result = await run('npx', ['sequelize-cli', 'db:seed', '--seed', '20261121000200-volume-data.ts'], {
      DATABASE_URL: server.url('sslmode=require'),
      SEED_USERS: '3',
      SEED_POSTS: '40',
      NODE_ENV: 'development',
    });
    assert.equal(result.code, 0, result.output);
    assert.doesNotMatch(result.output, /ERROR:/);
    const { rows } = await sql.query<{ count: number }>(
      'SELECT count(*)::int AS count FROM posts WHERE search_vector IS NOT NULL',
    );
    assert.equal(rows[0]?.count, 40);
  });

  test('the app (src/server.ts) with ?sslmode=require › serves, every connection of it over TLS', async () => {
    const app = await startServer(server.url('sslmode=require'));
    try {
      assert.equal((await send(app.port, { path: '/readyz' })).status, 200, app.tail());
      // Logging in saves a session: the session store's pool connects too.
      await new Visitor(app.port).logInToPost('tls_admin');
      const { rows } = await sql.query<{ ssl: boolean; count: number }>(
        `SELECT s.ssl, count(*)::int AS count FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
          WHERE a.application_name = $1 GROUP BY s.ssl`,
        [`users-and-posts:${app.pid}`],
      );
      assert.deepEqual(
        rows.map((row) => row.ssl),
        [true],
        JSON.stringify(rows),
      );
      const { rows: sessions } = await sql.query<{ count: number }>('SELECT count(*)::int AS count FROM sessions');
      assert.ok((sessions[0]?.count ?? 0) > 0, 'the login saved a session');
    } finally {
      await killServers();
    }
  });
});
