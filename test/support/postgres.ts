// PostgreSQL for tests: database names and URLs, migrations, and a cluster of a test's own to stop and start.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { clientConfig, parseDatabaseUrl } from '../../src/db/connection.js';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrator.js';
import { createSequelize } from '../../src/db/sequelize.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

/** `url` with its database name replaced. */
export function databaseUrl(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export function uniqueDatabaseName(prefix: string): string {
  return `${prefix}_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
}

/** Runs statements on the server of `url` (CREATE/DROP DATABASE cannot run in a pool transaction). */
export async function onServer(url: string, ...statements: string[]): Promise<void> {
  const client = new pg.Client(await clientConfig(parseDatabaseUrl(url)));
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

export const quoteIdent = (name: string): string => pg.escapeIdentifier(name);

const ADMIN_SETTINGS = {
  dbPoolMax: 1,
  dbPoolMin: 0,
  dbAcquireTimeoutMs: 10_000,
  dbConnectTimeoutMs: 10_000,
  dbStatementTimeoutMs: 60_000,
  dbSlowQueryMs: 60_000,
};

/** Runs the app's migrations on `url`. */
export async function migrateDatabase(url: string): Promise<void> {
  const sequelize = createSequelize(url, ADMIN_SETTINGS);
  try {
    await migrate(sequelize);
  } finally {
    await sequelize.close();
  }
}

export interface OwnPostgres {
  readonly url: string;
  readonly dataDir: string;
  readonly port: number;
  running(): boolean;
  /** Fast shutdown (SIGINT to the postmaster); resolves once it has exited. */
  stopFast(): Promise<void>;
  /** Immediate shutdown (SIGQUIT to the postmaster); resolves once it has exited. */
  stopImmediate(): Promise<void>;
  /** Starts the same cluster again on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it (if running) and removes its data directory. */
  close(): Promise<void>;
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * A PostgreSQL cluster of the test file's own, migrated, that the test may stop and start
 * (never the runner's shared one: other files use it).
 */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'users-and-posts-faults-pg-'));
  // PostgreSQL runs as the `postgres` user when we are root: it must reach its directory.
  fs.chmodSync(dataDir, 0o755);
  const port = await freePort();
  let current: EmbeddedDatabase | undefined;
  try {
    current = await startEmbeddedPostgres({ dataDir, port });
    await migrateDatabase(current.url);
  } catch (error) {
    await current?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const url = current.url;
  const postmasterPid = (): number => {
    const first = fs.readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0];
    const pid = Number(first);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no postmaster pid in ${dataDir}`);
    return pid;
  };

  return {
    url,
    dataDir,
    port,
    running: () => current !== undefined,
    async stopFast() {
      const handle = current;
      if (!handle) throw new Error('PostgreSQL is not running');
      current = undefined;
      await handle.stop();
    },
    async stopImmediate() {
      const handle = current;
      if (!handle) throw new Error('PostgreSQL is not running');
      current = undefined;
      const pid = postmasterPid();
      process.kill(pid, 'SIGQUIT');
      // The handle's own stop then waits for that exit; the SIGINT it sends cannot soften
      // the immediate shutdown already requested.
      const forgotten = handle.stop();
      await waitFor('the postmaster to exit', () => (processGone(pid) ? true : undefined), {
        withinMs: 15_000,
        everyMs: 20,
      });
      await forgotten;
    },
    async start() {
      if (current) throw new Error('PostgreSQL is already running');
      current = await startEmbeddedPostgres({ dataDir, port });
    },
    async close() {
      const handle = current;
      current = undefined;
      await handle?.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
