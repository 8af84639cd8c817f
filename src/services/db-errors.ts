import { BaseError, ConnectionError, DatabaseError, UniqueConstraintError } from 'sequelize';
import { ConflictError } from '../errors.js';

/** The unique indexes users meet through forms, with the field and message to show. */
const UNIQUE_INDEXES: Record<string, { field: string; message: string }> = {
  users_username_lower_key: { field: 'username', message: 'That username is taken. Please choose another.' },
  users_email_lower_key: { field: 'email', message: 'An account with that email already exists.' },
};

/** Turns a unique violation (23505) on a known index into the 409 of its form field. */
export function translateUniqueViolation(error: unknown): unknown {
  if (error instanceof UniqueConstraintError) {
    const constraint = (error.parent as { constraint?: string } | undefined)?.constraint;
    const known = constraint ? UNIQUE_INDEXES[constraint] : undefined;
    if (known) return new ConflictError(known.field, known.message);
  }
  return error;
}

// SQLSTATEs meaning "the database cannot serve this now", not "this request is wrong":
// connection exceptions (08…), shutdown and crash (57P01-57P03), statement timeout
// (57014), too many connections (53300), read-only standby during failover (25006), and
// a missing table (42P01): the schema is being migrated or was rolled back by an admin.
const UNAVAILABLE_CODES = /^(08...|57P0[1-3]|57014|53300|25006|42P01)$/;

// node-postgres reports a connection that died under a query without any SQLSTATE: by
// message, or by the socket's own error code when the server reset it mid-query.
const CONNECTION_LOST = /Connection terminated|connection error and is not queryable|Connection closed/i;
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE']);

const unavailableCode = (code: string): boolean => UNAVAILABLE_CODES.test(code) || SOCKET_ERRORS.has(code);

export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof ConnectionError) return true;
  if (error instanceof DatabaseError) {
    const parent = error.parent as { code?: string; message?: string } | undefined;
    if (parent?.code !== undefined) return unavailableCode(parent.code);
    return CONNECTION_LOST.test(parent?.message ?? error.message);
  }
  if (error instanceof BaseError) return false;
  // The session store's own pg client reports the same faults without Sequelize's classes.
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string') return unavailableCode(code);
  return typeof message === 'string' && CONNECTION_LOST.test(message);
}
