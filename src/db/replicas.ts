// Read replicas: streaming standbys that serve reads, through Sequelize's `replication`.
// Reads outside transactions go to them; writes and transactions stay on the primary.
// Two things keep that invisible to people:
// - read-your-writes: a request that writes, and every request of that session for a while
//   after its last write, reads from the primary, whatever the standbys' lag;
// - a standby that does not answer is noticed within a check interval, and reads go to the
//   primary until every standby answers again.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'pino';
import pg from 'pg';
import type { ConnectionOptions, Options } from 'sequelize';
import { clientConfig, type DatabaseTarget, parseDatabaseUrl, sequelizeConnection, serverName } from './connection.js';

const CHECK_INTERVAL_MS = 2000;
const CHECK_TIMEOUT_MS = 1000;

const readFromPrimary = new AsyncLocalStorage<boolean>();

/** Runs `work` (and everything it starts) with its reads on the primary, or not. */
export function withReadsOnPrimary<T>(onPrimary: boolean, work: () => T): T {
  return readFromPrimary.run(onPrimary, work);
}

/** Whether the code running now must read from the primary. */
export function readsOnPrimary(): boolean {
  return readFromPrimary.getStore() === true;
}

/**
 * The `replication` option: writes to `primary`, reads spread over `replicas`. Each server
 * has its own TLS plan, so each gets the whole of `dialectOptions` with it.
 */
export function replicationOf(primary: string, replicas: string[], dialectOptions: object): Options['replication'] {
  const server = (url: string, label: string): ConnectionOptions & { dialectOptions: object } => {
    const connection = sequelizeConnection(parseDatabaseUrl(url, label));
    return { ...connection, dialectOptions: { ...dialectOptions, ...connection.dialectOptions } };
  };
  return {
    write: server(primary, 'DATABASE_URL'),
    read: replicas.map((url) => server(url, 'DATABASE_REPLICA_URLS')),
  };
}

export interface ReplicaState {
  /** host:port, never the password. */
  readonly name: string;
  readonly up: boolean;
}

/** The standbys' health, checked every CHECK_INTERVAL_MS by a query of their own. */
export class ReplicaHealth {
  private states: ReplicaState[];
  private readonly targets: DatabaseTarget[];
  private readonly timer: NodeJS.Timeout;

  constructor(
    urls: string[],
    private readonly logger?: Logger,
  ) {
    this.targets = urls.map((url) => parseDatabaseUrl(url, 'DATABASE_REPLICA_URLS'));
    // Unknown until checked: reads stay on the primary until the first check passes.
    this.states = this.targets.map((target) => ({ name: serverName(target), up: false }));
    this.timer = setInterval(() => void this.check(), CHECK_INTERVAL_MS).unref();
    void this.check();
  }

  /** Reads may go to the standbys: every one of them answered its last check. */
  get usable(): boolean {
    return this.states.length > 0 && this.states.every((state) => state.up);
  }

  get current(): readonly ReplicaState[] {
    return this.states;
  }

  async check(): Promise<readonly ReplicaState[]> {
    const failures = await Promise.all(this.targets.map(failureOf));
    const states = this.targets.map((target, i) => ({ name: serverName(target), up: failures[i] === undefined }));
    for (const [i, state] of states.entries()) {
      if (state.up === this.states[i]?.up) continue;
      if (state.up) this.logger?.info({ replica: state.name }, 'replica up');
      // The reason too: a replica refused over TLS is a configuration to fix, not an outage.
      else this.logger?.warn({ replica: state.name, err: failures[i] }, 'replica down');
    }
    this.states = states;
    return states;
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/** Why the server did not take a connection and a query within CHECK_TIMEOUT_MS (each), if it did not. */
async function failureOf(target: DatabaseTarget): Promise<unknown> {
  let client: pg.Client | undefined;
  try {
    client = new pg.Client(
      await clientConfig(target, {
        connectionTimeoutMillis: CHECK_TIMEOUT_MS,
        statement_timeout: CHECK_TIMEOUT_MS,
        application_name: 'users-and-posts:replica-check',
      }),
    );
    client.on('error', () => undefined);
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await client?.end().catch(() => undefined);
  }
}
