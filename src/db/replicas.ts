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
import type { Options } from 'sequelize';

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

/** Sequelize's connection settings for one server, from its URL. */
export function connectionOf(url: string): {
  host: string;
  port: number;
  username: string;
  password: string;
  database: string;
} {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 5432),
    username: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.slice(1)),
  };
}

/** The `replication` option: writes to `primary`, reads spread over `replicas`. */
export function replicationOf(primary: string, replicas: string[]): Options['replication'] {
  return { write: connectionOf(primary), read: replicas.map(connectionOf) };
}

export interface ReplicaState {
  /** host:port, never the password. */
  readonly name: string;
  readonly up: boolean;
}

/** The standbys' health, checked every CHECK_INTERVAL_MS by a query of their own. */
export class ReplicaHealth {
  private states: ReplicaState[];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly urls: string[],
    private readonly logger?: Logger,
  ) {
    // Unknown until checked: reads stay on the primary until the first check passes.
    this.states = urls.map((url) => ({ name: nameOf(url), up: false }));
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
    const states = await Promise.all(this.urls.map(async (url) => ({ name: nameOf(url), up: await answers(url) })));
    for (const [i, state] of states.entries()) {
      if (state.up !== this.states[i]?.up) {
        this.logger?.[state.up ? 'info' : 'warn']({ replica: state.name }, state.up ? 'replica up' : 'replica down');
      }
    }
    this.states = states;
    return states;
  }

  close(): void {
    clearInterval(this.timer);
  }
}

function nameOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || 5432}`;
}

/** Whether the server at `url` takes a connection and a query within CHECK_TIMEOUT_MS. */
async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: CHECK_TIMEOUT_MS,
    statement_timeout: CHECK_TIMEOUT_MS,
    application_name: 'users-and-posts:replica-check',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
