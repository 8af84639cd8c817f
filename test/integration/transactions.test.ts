import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DatabaseError, QueryTypes } from 'sequelize';
import { inTransaction, isRetryable } from '../../src/db/transaction.js';
import { useTestApp } from '../support/app.js';
import { createUser } from '../support/factories.js';

const t = useTestApp();

/** A promise and the function that resolves it. */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((resolve) => (fire = resolve));
  return { promise, fire };
}

function pgError(code: string): DatabaseError {
  return new DatabaseError(Object.assign(new Error(`SQLSTATE ${code}`), { code, sql: '', parameters: {} }));
}

test('two transactions locking two rows in opposite orders › PostgreSQL kills one as a deadlock, the retry completes it', async () => {
  const [a, b] = [await createUser(), await createUser()];
  const bothLockedFirst = [signal(), signal()];
  const attempts = [0, 0];

  const lockBoth = (index: 0 | 1, first: number, second: number) =>
    inTransaction(t.db.sequelize, async (transaction) => {
      attempts[index]!++;
      const lock = (id: number) =>
        t.db.sequelize.query('UPDATE users SET bio = bio WHERE id = $1', { bind: [id], transaction });
      await lock(first);
      if (attempts[index] === 1) {
        // Both hold their first row before either asks for its second: a certain deadlock.
        bothLockedFirst[index]!.fire();
        await bothLockedFirst[1 - index]!.promise;
      }
      await lock(second);
      return index;
    });

  const results = await Promise.all([lockBoth(0, a.id, b.id), lockBoth(1, b.id, a.id)]);
  assert.deepEqual(results, [0, 1]);
  // One of them ran twice: its first attempt was the deadlock's victim.
  assert.deepEqual([...attempts].sort(), [1, 2]);
});

test('a serialization failure › retried until it succeeds, within the bound', async () => {
  let calls = 0;
  const result = await inTransaction(
    t.db.sequelize,
    () => {
      calls++;
      return calls < 3 ? Promise.reject(pgError('40001')) : Promise.resolve('done');
    },
    { baseDelayMs: 1 },
  );
  assert.equal(result, 'done');
  assert.equal(calls, 3);
});

test('a failure that keeps coming › given up after the last attempt, with its error', async () => {
  let calls = 0;
  await assert.rejects(
    inTransaction(
      t.db.sequelize,
      () => {
        calls++;
        return Promise.reject(pgError('40P01'));
      },
      { attempts: 3, baseDelayMs: 1 },
    ),
    (error: unknown) => isRetryable(error),
  );
  assert.equal(calls, 3);
});

test('any other error (a unique violation, a lost connection) › never retried', async () => {
  for (const code of ['23505', '08006', '57P01']) {
    let calls = 0;
    await assert.rejects(
      inTransaction(
        t.db.sequelize,
        () => {
          calls++;
          return Promise.reject(pgError(code));
        },
        { baseDelayMs: 1 },
      ),
    );
    assert.equal(calls, 1, code);
  }
});

test('a retried transaction › its first attempt left nothing behind', async () => {
  const user = await createUser();
  let calls = 0;
  await inTransaction(
    t.db.sequelize,
    async (transaction) => {
      calls++;
      await t.db.sequelize.query('UPDATE users SET bio = bio || $2 WHERE id = $1', {
        bind: [user.id, `attempt ${calls};`],
        transaction,
      });
      if (calls === 1) throw pgError('40001');
    },
    { baseDelayMs: 1 },
  );
  const [row] = await t.db.sequelize.query<{ bio: string }>('SELECT bio FROM users WHERE id = $1', {
    bind: [user.id],
    type: QueryTypes.SELECT,
  });
  assert.equal(row?.bio, 'attempt 2;');
});
