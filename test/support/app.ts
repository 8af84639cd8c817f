// The app for one test file, on a database of its own cloned from the runner's migrated template,
// listening on a loopback port of its own.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';
import type { Express } from 'express';
import type pg from 'pg';
import pino, { type Logger } from 'pino';
import { createApp } from '../../src/app.js';
import type { AppConfig } from '../../src/config.js';
import { createDatabase, type Database } from '../../src/db/database.js';
import type { PoolSettings } from '../../src/db/sequelize.js';
import { databaseUrl, onServer, quoteIdent, uniqueDatabaseName } from './postgres.js';
import { sqlPool } from './sql.js';

export const TEST_POOL: PoolSettings = {
  dbPoolMax: 5,
  dbPoolMin: 0,
  dbAcquireTimeoutMs: 5000,
  dbConnectTimeoutMs: 5000,
  dbStatementTimeoutMs: 10_000,
  dbSlowQueryMs: 10_000,
};

function testEnv(name: 'TEST_SERVER_URL' | 'TEST_TEMPLATE_DATABASE'): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with \`npm test\` (test/run.ts)`);
  return value;
}

export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/** A new database on the test server: migrated (a clone of the template) or empty. */
export async function createTestDatabase(options: { migrated: boolean }): Promise<TestDatabase> {
  const serverUrl = testEnv('TEST_SERVER_URL');
  const name = uniqueDatabaseName('test');
  const template = options.migrated ? ` TEMPLATE ${quoteIdent(testEnv('TEST_TEMPLATE_DATABASE'))}` : '';
  await onServer(serverUrl, `CREATE DATABASE ${quoteIdent(name)}${template}`);
  return {
    url: databaseUrl(serverUrl, name),
    drop: () => onServer(serverUrl, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`),
  };
}

/** An app listening on a free loopback port, until closed. */
export interface Served {
  readonly port: number;
  close(): Promise<void>;
}

/** Listens `app` on a free 127.0.0.1 port. */
export async function serve(app: http.RequestListener): Promise<Served> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface TestApp extends Served {
  readonly app: Express;
  readonly db: Database;
  readonly url: string;
  /** A small pool for the test's own queries, outside the app (connects only when first used). */
  readonly sql: pg.Pool;
  close(): Promise<void>;
}

/** Test settings: limits high enough that only the rate-limit tests meet them. */
export const TEST_APP_CONFIG: AppConfig = {
  env: 'test',
  metricsToken: undefined,
  publicUrl: undefined,
  trustProxy: 0,
  sessionIdleTimeoutMin: 60,
  sessionAbsoluteTimeoutMin: 24 * 60,
  loginLimitPerIp: 100_000,
  loginLimitPerAccount: 100_000,
  signupLimitPerIp: 100_000,
  resetLimitPerIp: 100_000,
  mailLimitPerAddress: 100_000,
  commentLimitPerAccount: 100_000,
  // Tests read their writes at once, also as anonymous visitors; page-cache.test.ts turns it on.
  pageCacheMs: 0,
  databaseReplicaUrls: [],
  replicaReadAfterWriteMs: 10_000,
  searchTimeoutMs: 1000,
};

/** The app with test settings (and `config`) on `db`, logging to `logger` (by default nowhere). */
export function testApp(
  db: Database,
  config: Partial<AppConfig> = {},
  logger: Logger = pino({ level: 'silent' }),
): Express {
  return createApp({
    config: { ...TEST_APP_CONFIG, ...config },
    db,
    logger,
    sessionSecret: 'a-test-session-secret-of-enough-length',
  });
}

/** Another app on `db` (other settings, or a second process), listening on a loopback port of its own. */
export function serveApp(db: Database, config: Partial<AppConfig> = {}, logger?: Logger): Promise<Served> {
  return serve(testApp(db, config, logger));
}

/** The app on a migrated database of this test file's own, listening on a loopback port. */
export async function startTestApp(config: Partial<AppConfig> = {}): Promise<TestApp> {
  const database = await createTestDatabase({ migrated: true });
  const db = createDatabase(database.url, TEST_POOL);
  const app = testApp(db, config);
  const sql = sqlPool(database.url);
  const served = await serve(app);
  return {
    app,
    db,
    url: database.url,
    sql,
    port: served.port,
    async close() {
      await served.close();
      await sql.end();
      await db.close();
      await database.drop();
    },
  };
}

/**
 * The app of this test file, started in a `before` hook and closed in an `after` hook:
 * call once at the top level; its properties are readable from the tests on.
 */
export function useTestApp(config: Partial<AppConfig> = {}): TestApp {
  let started: TestApp | undefined;
  before(async () => {
    started = await startTestApp(config);
  });
  after(async () => {
    await started?.close();
  });
  const current = (): TestApp => {
    if (!started) throw new Error('the test app starts in a before hook: use it in tests and hooks');
    return started;
  };
  return {
    get app() {
      return current().app;
    },
    get db() {
      return current().db;
    },
    get url() {
      return current().url;
    },
    get sql() {
      return current().sql;
    },
    get port() {
      return current().port;
    },
    close: () => current().close(),
  };
}
