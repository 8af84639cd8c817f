// WEB_CONCURRENCY=2 on real processes: two workers behind one port, any of them serving
// any session; a worker that dies is replaced; SIGTERM to the primary drains every worker
// (requests held in flight behind a row lock finish) and stops them all, exit code 0.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/app.js';
import { Visitor } from '../support/browser.js';
import { type Reply, send } from '../support/http.js';
import { killServers, startServer, type ServerProcess } from '../support/server.js';
import { counterMismatches, createUsers, lockUser, scalar, sqlPool, waitForLockWaiters } from '../support/sql.js';
import { sleep, waitFor } from '../support/wait.js';

let database: TestDatabase;
let db: pg.Pool;

before(async () => {
  database = await createTestDatabase({ migrated: true });
  db = sqlPool(database.url);
});

after(async () => {
  await killServers();
  await db?.end();
  await database?.drop();
});

/** The worker pids that logged a finished request with this request id. */
function workerOf(server: ServerProcess, reply: Reply): number | undefined {
  const id = reply.headers['x-request-id'];
  const line = server.logs().find((entry) => (entry.req as { id?: string } | undefined)?.id === id);
  return typeof line?.pid === 'number' ? line.pid : undefined;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** One request per new connection until both workers have answered; their pids. */
async function workerPids(server: ServerProcess, visitor?: Visitor): Promise<Set<number>> {
  const pids = new Set<number>();
  for (let i = 0; i < 40 && pids.size < 2; i++) {
    const reply = visitor ? await visitor.get('/posts/new') : await send(server.port, { path: '/posts' });
    assert.equal(reply.status, 200, `request ${i} answered ${reply.status}${server.tail()}`);
    await sleep(5);
    const pid = workerOf(server, reply);
    if (pid !== undefined) pids.add(pid);
  }
  return pids;
}

describe('WEB_CONCURRENCY=2', () => {
  test('two worker processes share the port, and a session made through one is honoured by the other', async () => {
    const server = await startServer(database.url, { WEB_CONCURRENCY: '2' });
    try {
      const [user] = await createUsers(db, 1, 'cluster');
      const visitor = new Visitor(server.port);
      await visitor.logInToPost(user!.username);
      // Each request on a connection of its own: the primary hands them out in turn.
      const pids = await workerPids(server, visitor);
      assert.equal(pids.size, 2, `the logged-in requests were all served by ${[...pids].join(', ')}${server.tail()}`);
      assert.ok(!pids.has(server.pid), 'the primary served a request itself');
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  test('a worker that dies is replaced, and the others serve meanwhile', async () => {
    const server = await startServer(database.url, { WEB_CONCURRENCY: '2' });
    try {
      const [first, second] = [...(await workerPids(server))];
      assert.ok(first !== undefined && second !== undefined, `only one worker answered${server.tail()}`);
      process.kill(first, 'SIGKILL');
      // Node's cluster: a connection handed to a worker in the instant it dies is lost with
      // it; from the primary's notice on, the survivor takes every connection.
      await waitFor(
        'the primary to notice the death',
        () =>
          server.logs().some((entry) => entry.msg === 'a worker died: starting another' && entry.worker === first)
            ? true
            : undefined,
        { withinMs: 5000, everyMs: 20 },
      );
      const replaced = await waitFor(
        'a new worker to serve',
        async () => {
          const reply = await send(server.port, { path: '/posts' });
          assert.equal(reply.status, 200, `GET /posts answered ${reply.status} with a worker down${server.tail()}`);
          await sleep(5);
          const pid = workerOf(server, reply);
          return pid !== undefined && pid !== first && pid !== second ? pid : undefined;
        },
        { withinMs: 10_000, everyMs: 50 },
      );
      assert.ok(alive(replaced));
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  test('SIGTERM to the primary › requests in flight on both workers finish, then every process exits 0', async () => {
    const server = await startServer(database.url, { WEB_CONCURRENCY: '2', SHUTDOWN_TIMEOUT_MS: '10000' });
    const [author] = await createUsers(db, 1, 'cluster_drain');
    const writer = new Visitor(server.port);
    await writer.logInToPost(author!.username);
    const pids = await workerPids(server, writer);
    assert.equal(pids.size, 2);

    const lock = await lockUser(db, author!.id);
    let replies: Promise<Reply | Error>[];
    try {
      // Four posts, each on a connection of its own: both workers hold some.
      replies = Array.from({ length: 4 }, (_, i) =>
        writer.createPost(`Cluster drained ${i}`, { timeoutMs: 15_000 }).catch((error: unknown) => error as Error),
      );
      await waitForLockWaiters(db, 4, server);
      assert.ok(server.child.kill('SIGTERM'));
      await sleep(800);
      assert.ok(server.isRunning(), `the primary exited before its workers drained${server.tail()}`);
    } finally {
      await lock.release();
    }
    const results = await Promise.all(replies);
    const exit = await Promise.race([server.exited, sleep(10_000).then(() => undefined)]);
    assert.deepEqual(
      results.map((r) => (r instanceof Error ? r.message : r.status)),
      [303, 303, 303, 303],
      `in-flight posts did not all complete${server.tail()}`,
    );
    assert.equal(exit?.code, 0, `exit ${JSON.stringify(exit)}${server.tail()}`);
    for (const pid of pids) assert.ok(!alive(pid), `worker ${pid} outlived the primary`);
    assert.equal(await scalar<number>(db, `SELECT count(*)::int FROM posts WHERE title LIKE 'Cluster drained %'`), 4);
    assert.equal(await counterMismatches(db), 0);
  });
});
