// The load check's options: command-line flags, else BENCH_* environment variables, else defaults.
import { parseArgs } from 'node:util';

export interface Options {
  /** Concurrent HTTP connections, all kinds of request together. */
  readonly connections: number;
  /** Seconds of measured load (a short warm-up comes before). */
  readonly durationS: number;
  /** Extra users seeded besides the demo accounts. */
  readonly users: number;
  /** Extra posts seeded, spread over the extra users. */
  readonly posts: number;
  /** Seconds into the load at which PostgreSQL is restarted; undefined: no restart. */
  readonly restartDbAtS: number | undefined;
  /** A PostgreSQL database to use instead of an embedded one. */
  readonly databaseUrl: string | undefined;
  /** A file to write everything the app prints to. */
  readonly appLog: string | undefined;
}

export const HELP = `Usage: npm run bench:load -- [options]
       node --import tsx bench/load.ts [options]

Starts a PostgreSQL (embedded, in a temporary directory) and the app (NODE_ENV=production,
a separate process on a free loopback port), seeds the database, logs in some demo users,
loads the app with ~80 % reads and ~20 % writes (POST /posts), prints a Markdown table,
then checks the invariants (posts_count, one post per 303, no orphans).

Options (flag, or environment variable):
  --connections N      BENCH_CONNECTIONS     concurrent connections        (default 50)
  --duration S         BENCH_DURATION        seconds of measured load      (default 30)
  --users N            BENCH_USERS           extra users to seed           (default 200)
  --posts N            BENCH_POSTS           extra posts to seed           (default 5000)
  --restart-db-at S    BENCH_RESTART_DB_AT   restart PostgreSQL S seconds into the load:
                                             fast shutdown, ~2 s down, start again
  --database-url URL   BENCH_DATABASE_URL    use this database instead of an embedded one
                                             (it is migrated, and rows are ADDED to it;
                                             --restart-db-at is then refused)
  --app-log FILE       BENCH_APP_LOG         write everything the app prints to FILE
  --help                                     this text

Exit status: 0 when there was no 5xx (bar 503 while the database was down), the invariants
hold, and after a restart the app served again within 2 s of the database's return;
1 when a check failed; 2 on bad options.`;

export class UsageError extends Error {}

/** The options, or undefined when --help was asked for. Throws UsageError on bad input. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        connections: { type: 'string' },
        duration: { type: 'string' },
        users: { type: 'string' },
        posts: { type: 'string' },
        'restart-db-at': { type: 'string' },
        'database-url': { type: 'string' },
        'app-log': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const flags = parsed.values;
  if (flags.help) return undefined;

  const integer = (flag: string, raw: string | undefined, fallback: number, min: number, max: number): number => {
    if (raw === undefined || raw === '') return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new UsageError(`--${flag} must be an integer from ${min} to ${max} (got "${raw}")`);
    }
    return Number(raw);
  };

  const durationS = integer('duration', flags.duration ?? env.BENCH_DURATION, 30, 1, 3600);
  const restartRaw = flags['restart-db-at'] ?? env.BENCH_RESTART_DB_AT;
  const restartDbAtS =
    restartRaw === undefined || restartRaw === '' ? undefined : integer('restart-db-at', restartRaw, 0, 1, 3600);
  const databaseUrl = flags['database-url'] ?? (env.BENCH_DATABASE_URL || undefined);

  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new UsageError('--database-url must be a postgres:// or postgresql:// URL');
  }
  if (databaseUrl !== undefined && restartDbAtS !== undefined) {
    throw new UsageError(
      '--restart-db-at needs the embedded PostgreSQL: this script cannot restart the server of --database-url',
    );
  }
  if (restartDbAtS !== undefined && restartDbAtS >= durationS) {
    throw new UsageError(`--restart-db-at (${restartDbAtS}) must be less than --duration (${durationS})`);
  }

  return {
    connections: integer('connections', flags.connections ?? env.BENCH_CONNECTIONS, 50, 1, 10_000),
    durationS,
    users: integer('users', flags.users ?? env.BENCH_USERS, 200, 1, 1_000_000),
    posts: integer('posts', flags.posts ?? env.BENCH_POSTS, 5000, 1, 10_000_000),
    restartDbAtS,
    databaseUrl,
    appLog: flags['app-log'] ?? (env.BENCH_APP_LOG || undefined),
  };
}
