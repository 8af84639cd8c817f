// Pool exhaustion on a real process: a pool of 2 connections meets more concurrent
// requests than it has connections. Requests queue and succeed, or (when both connections
// stay busy past the acquire timeout) answer the 503 page; none ever hangs.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/app.js';
import { Visitor } from '../support/browser.js';
import { postIdIn, type Reply, send } from '../support/http.js';
import { describeReplies, killServers, type ServerProcess, startServer } from '../support/server.js';
import {
  counterMismatches,
  createUsers,
  lockUser,
  scalar,
  sqlPool,
  type TestUser,
  waitForLockWaiters,
} from '../support/sql.js';
import { waitFor } from '../support/wait.js';

const POOL_MAX = 2;
const ACQUIRE_TIMEOUT_MS = 1500;
const MARGIN_MS = 1500;
const CLIENT_TIMEOUT_MS = 10_000;

let database: TestDatabase;
let db: pg.Pool;
let server: ServerProcess;
let author: TestUser;
let writer: Visitor;
const log = (): string => server.tail();

before(async () => {
  database = await createTestDatabase({ migrated: true });
  db = sqlPool(database.url);
  [author] = (await createUsers(db, 1, 'pool')) as [TestUser];
  server = await startServer(database.url, {
    DB_POOL_MAX: String(POOL_MAX),
    DB_ACQUIRE_TIMEOUT_MS: String(ACQUIRE_TIMEOUT_MS),
    DB_CONNECT_TIMEOUT_MS: '2000',
  });
  writer = new Visitor(server.port);
  await writer.logInToPost(author.username);
  for (let i = 0; i < 3; i++) {
    const res = await writer.createPost(`Pool test post ${i}`);
    assert.equal(res.status, 303, `a first post failed${log()}`);
  }
});

after(async () => {
  await killServers();
  await db?.end();
  await database?.drop();
});

/** `count` concurrent GET /posts, each on its own connection; errors (hangs) come back as strings. */
function manyReads(count: number): Promise<(Reply | string)[]> {
  return Promise.all(
    Array.from({ length: count }, () =>
      send(server.port, { path: '/posts', timeoutMs: CLIENT_TIMEOUT_MS }).catch((error: unknown) => String(error)),
    ),
  );
}

function describeReads(replies: (Reply | string)[]): string {
  return describeReplies(
    replies.map((r, i) => (typeof r === 'string' ? { label: `#${i}`, error: r } : { label: `#${i}`, reply: r })),
    server,
  );
}

describe(`a pool of ${POOL_MAX} connections`, () => {
  test('30 concurrent GET /posts › they queue for the connections and all answer 200', async () => {
    const replies = await manyReads(30);
    assert.deepEqual(
      replies.map((r) => (typeof r === 'string' ? r : r.status)),
      Array<number>(30).fill(200),
      `not every GET /posts answered 200:\n${describeReads(replies.filter((r) => typeof r === 'string' || r.status !== 200))}${log()}`,
    );
    const slowest = Math.max(...(replies as Reply[]).map((r) => r.ms));
    assert.ok(slowest <= ACQUIRE_TIMEOUT_MS + MARGIN_MS, `the slowest took ${Math.round(slowest)} ms${log()}`);
    assert.ok((replies[0] as Reply).body.includes('Pool test post'), 'the posts page lists no post');
  });

  test('both connections held by writes waiting on a lock › GET /posts answers 503 with Retry-After within the acquire timeout, then all recover', async () => {
    const lock = await lockUser(db, author.id);
    let writes: Promise<Reply | string>[] = [];
    try {
      // Each write holds a pooled connection in its transaction, waiting behind the lock.
      writes = Array.from({ length: POOL_MAX }, (_, i) =>
        writer.createPost(`Held post ${i}`, { timeoutMs: 20_000 }).catch((error: unknown) => String(error)),
      );
      await waitForLockWaiters(db, POOL_MAX, server);

      const [reads, health, ready] = await Promise.all([
        manyReads(10),
        send(server.port, { path: '/healthz', timeoutMs: CLIENT_TIMEOUT_MS }).catch(String),
        send(server.port, { path: '/readyz', timeoutMs: CLIENT_TIMEOUT_MS }).catch(String),
      ]);
      await lock.release();
      const written = await Promise.all(writes);

      const unavailable = (r: Reply | string): boolean =>
        typeof r !== 'string' &&
        r.status === 503 &&
        Number(r.headers['retry-after']) > 0 &&
        /Temporarily unavailable/.test(r.body);
      assert.deepEqual(
        reads.map((r) => (typeof r === 'string' ? r : r.status)),
        Array<number>(10).fill(503),
        `GET /posts with every connection busy:\n${describeReads(reads)}${log()}`,
      );
      assert.ok(reads.every(unavailable), `a 503 without Retry-After or the 503 page:\n${describeReads(reads)}`);
      const slowest = Math.max(...(reads as Reply[]).map((r) => r.ms));
      assert.ok(
        slowest <= ACQUIRE_TIMEOUT_MS + MARGIN_MS,
        `a 503 took ${Math.round(slowest)} ms (acquire timeout ${ACQUIRE_TIMEOUT_MS} ms)${log()}`,
      );
      assert.equal(typeof health === 'string' ? health : health.status, 200, `GET /healthz${log()}`);
      assert.equal(
        typeof ready === 'string' ? ready : ready.status,
        503,
        `GET /readyz with the pool exhausted${log()}`,
      );

      // The held writes go through once the lock is gone, and the pool serves again.
      assert.deepEqual(
        written.map((r) => (typeof r === 'string' ? r : r.status)),
        Array<number>(POOL_MAX).fill(303),
        `the held writes:\n${describeReads(written)}${log()}`,
      );
      const after = await waitFor(
        'GET /posts to answer 200 again',
        async () => {
          const res = await send(server.port, { path: '/posts', timeoutMs: CLIENT_TIMEOUT_MS });
          return res.status === 200 ? res : undefined;
        },
        { withinMs: 2000, everyMs: 100 },
      ).catch((error: unknown) => String(error));
      assert.equal(typeof after === 'string' ? after : after.status, 200, `after the lock was released${log()}`);
      const again = await manyReads(10);
      assert.deepEqual(
        again.map((r) => (typeof r === 'string' ? r : r.status)),
        Array<number>(10).fill(200),
        `GET /posts after the recovery:\n${describeReads(again)}${log()}`,
      );
      assert.ok(server.isRunning(), `the server process exited${log()}`);

      const ids = (written as Reply[]).map(postIdIn);
      assert.equal(
        await scalar<number>(db, 'SELECT count(*)::int FROM posts WHERE id = ANY($1::int[])', [ids]),
        POOL_MAX,
        'the confirmed writes are in the database',
      );
      assert.equal(
        await scalar<number>(db, 'SELECT posts_count FROM users WHERE id = $1', [author.id]),
        3 + POOL_MAX,
        "the author's posts_count",
      );
      assert.equal(await counterMismatches(db), 0);
    } finally {
      await lock.release();
      await Promise.all(writes);
    }
  });
});
