import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';
import { DatabaseError, type Sequelize } from 'sequelize';

/** What Sequelize has and does for each query, not in its published types. */
interface SequelizeInside {
  connectionManager: {
    getConnection(options: { type: 'SELECT' }): Promise<pg.Client & { _invalid?: boolean }>;
    releaseConnection(connection: pg.Client): void;
  };
  runHooks(hook: 'beforeQuery' | 'afterQuery', options: object, query: { sql: string }): Promise<void>;
  options: { logging?: boolean | ((sql: string, ms?: number) => void) };
}

type Queryable = Pick<pg.ClientBase, 'query'>;

// The statements are named by their text, so the same text is parsed once per connection
// whoever runs it, and a name always means the same statement.
const names = new Map<string, string>();
function nameOf(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `prepared-${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    names.set(text, name);
  }
  return name;
}

// A pooler in transaction mode that does not track prepared statements (PgBouncer before
// 1.21, or with max_prepared_statements = 0) hands a statement's Bind to a server connection
// that never saw its Parse, or a Parse to one that has it already.
const NOT_KEPT = new Set(['26000', '42P05']);
const state: { named: boolean; logger?: Logger } = { named: true };

/** Where to say, once, that the database path does not keep prepared statements. */
export function reportPreparedStatementsTo(logger: Logger): void {
  state.logger = logger;
}

/**
 * A read the busiest pages run on every request, as a named prepared statement: PostgreSQL
 * parses and plans it once per connection and then reuses the plan. For the posts list,
 * planning cost the server three times what running the query did.
 *
 * `text` must be built from code alone, every value bound as $1…$n: each distinct text
 * stays prepared on each connection for the connection's life. Use it only where one plan
 * suits every value (a keyset page, a lookup by key), never where the best plan depends on
 * the value (a text search). Through a pooler that cannot keep prepared statements, the
 * statement runs again unnamed, and so does every later one (with one warning).
 */
export async function queryPrepared<Row extends pg.QueryResultRow>(
  queryable: Queryable,
  text: string,
  values: unknown[],
): Promise<Row[]> {
  if (!state.named) return (await queryable.query<Row>({ text, values })).rows;
  try {
    return (await queryable.query<Row>({ name: nameOf(text), text, values })).rows;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string' || !NOT_KEPT.has(code)) throw error;
    if (state.named) {
      state.named = false;
      state.logger?.warn(
        { code },
        'prepared statements are not kept on the way to PostgreSQL (a pooler in transaction mode?): ' +
          'reads now run unnamed and are planned each time; PgBouncer keeps them from 1.21 with max_prepared_statements',
      );
    }
    return (await queryable.query<Row>({ text, values })).rows;
  }
}

/**
 * queryPrepared on a connection of Sequelize's pool (replicas included), with Sequelize's
 * query hooks and its slow-query log; a failure is Sequelize's `DatabaseError` around pg's,
 * as from `sequelize.query`.
 */
export async function selectPrepared<Row extends object>(
  sequelize: Sequelize,
  text: string,
  values: unknown[],
): Promise<Row[]> {
  const inside = sequelize as unknown as SequelizeInside;
  const manager = inside.connectionManager;
  // As Sequelize's own queries give them: hooks see the statement's values.
  const options = { type: 'SELECT' as const, bind: values };
  const connection = await manager.getConnection(options);
  const query = { sql: text };
  const started = performance.now();
  try {
    await inside.runHooks('beforeQuery', options, query);
    return await queryPrepared<Row & pg.QueryResultRow>(connection, text, values);
  } catch (error) {
    // Not an error the server sent: the connection itself failed, and the pool must not hand it out again.
    if (!(error instanceof pg.DatabaseError)) connection._invalid = true;
    throw new DatabaseError(Object.assign(error as Error, { sql: text, parameters: values }));
  } finally {
    const ms = performance.now() - started;
    await inside.runHooks('afterQuery', options, query);
    manager.releaseConnection(connection);
    const { logging } = inside.options;
    if (typeof logging === 'function') logging(`Executed (prepared): ${text}`, Math.round(ms));
  }
}
