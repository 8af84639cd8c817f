import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionRefusedError, DatabaseError, ValidationError } from 'sequelize';
import { isDatabaseUnavailable } from '../../src/services/db-errors.js';

const databaseError = (parent: { code?: string; message: string }): DatabaseError =>
  new DatabaseError(Object.assign(new Error(parent.message), parent, { sql: '', parameters: {} }));

test('isDatabaseUnavailable › faults of the database, not of the request', () => {
  const unavailable = [
    new ConnectionRefusedError(new Error('connect ECONNREFUSED')),
    databaseError({ code: '57P01', message: 'terminating connection due to administrator command' }),
    databaseError({ code: '57014', message: 'canceling statement due to statement timeout' }),
    databaseError({ code: '08006', message: 'connection failure' }),
    databaseError({ code: '42P01', message: 'relation "posts" does not exist' }),
    // node-postgres, when the server vanishes under a query: no SQLSTATE at all.
    databaseError({ message: 'Connection terminated unexpectedly' }),
    databaseError({ message: 'Client has encountered a connection error and is not queryable' }),
    Object.assign(new Error('Connection terminated unexpectedly')),
    Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
    // The same reset under a Sequelize query (the outage test met it at PostgreSQL's shutdown).
    databaseError({ code: 'ECONNRESET', message: 'read ECONNRESET' }),
    databaseError({ code: 'EPIPE', message: 'write EPIPE' }),
  ];
  for (const error of unavailable) assert.equal(isDatabaseUnavailable(error), true, String(error));

  const notUnavailable = [
    databaseError({ code: '23505', message: 'duplicate key value violates unique constraint' }),
    databaseError({ code: '22001', message: 'value too long' }),
    databaseError({ message: 'syntax error at or near "x"' }),
    new ValidationError('bad', []),
    new Error('something else'),
  ];
  for (const error of notUnavailable) assert.equal(isDatabaseUnavailable(error), false, String(error));
});
