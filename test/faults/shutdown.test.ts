// Graceful shutdown on real processes: SIGTERM or SIGINT while requests are held in flight
// on purpose (their transaction waits behind a row lock the test holds), with an idle
// keep-alive connection open. Checks readiness, refused connections, that the held
// requests complete, and the exit; then a request that outlives SHUTDOWN_TIMEOUT_MS.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/app.js';
import { Visitor } from '../support/browser.js';
import { halfSent, postIdIn, type Reply, send } from '../support/http.js';
import { describeReplies, killServers, startServer } from '../support/server.js';
import {
  appConnections,
  counterMismatches,
  createUsers,
  lockUser,
  scalar,
  sqlPool,
  waitForLockWaiters,
} from '../support/sql.js';
import { now, sleep, waitFor } from '../support/wait.js';

const IN_FLIGHT = 3;
const HOLD_AFTER_SIGNAL_MS = 1000;
// The server must stop listening this soon after the signal.
const REFUSE_WITHIN_MS = 500;

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

/** Resolves with the error code once a new TCP connection to `port` is refused, or with 'accepted'. */
function connectOnce(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('accepted');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? String(error)));
  });
}

async function drainScenario(signal: 'SIGTERM' | 'SIGINT'): Promise<void> {
  const server = await startServer(database.url, { SHUTDOWN_TIMEOUT_MS: '10000' });
  const log = (): string => server.tail();
  const [author] = await createUsers(db, 1, 'drain');
  assert.ok(author);
  const writer = new Visitor(server.port);
  await writer.logInToPost(author.username);

  // An idle keep-alive connection, left open by a finished request.
  const idleAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const warmUp = await send(server.port, { path: '/healthz', agent: idleAgent });
  assert.equal(warmUp.status, 200);
  await sleep(20);
  const [idleSocket] = Object.values(idleAgent.freeSockets).flat();
  assert.ok(idleSocket, 'the keep-alive connection was not kept');
  let idleClosedAt: number | undefined;
  idleSocket.once('close', () => (idleClosedAt = now()));

  // Part of a request sent (so the server counts the connection as busy, not idle), the
  // rest on demand: a way to ask GET /readyz after the server has stopped accepting.
  const readyz = await halfSent(
    server.port,
    `GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nX-Forwarded-Proto: https\r\n\r\n`,
    2,
    3000,
  );

  // Posts by the author wait behind the lock, each in its own transaction. Keep-alive
  // connections, so that a Connection: close in the answer is the server's own choice.
  const busyAgent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const lock = await lockUser(db, author.id);
  const replies: Promise<Reply | Error>[] = [];
  let settled = 0;
  try {
    for (let i = 0; i < IN_FLIGHT; i++) {
      replies.push(
        writer
          .createPost(`Drained post ${i}`, { agent: busyAgent, timeoutMs: 15_000 })
          .catch((error: unknown) => error as Error)
          .finally(() => settled++),
      );
    }
    await waitForLockWaiters(db, IN_FLIGHT, server);

    const signalled = now();
    assert.ok(server.child.kill(signal));

    // Stops accepting at once.
    let refused: string | undefined;
    const refusedAt = await waitFor(
      'a new connection to be refused',
      async () => {
        refused = await connectOnce(server.port);
        // ECONNRESET: this connection was in the listener's queue as it closed; try again.
        return refused === 'ECONNREFUSED' ? now() : undefined;
      },
      { withinMs: 2000, everyMs: 25 },
    ).catch(() => Infinity);
    const readyzAnswer = await readyz.finish();
    await sleep(Math.max(0, signalled + HOLD_AFTER_SIGNAL_MS - 200 - now()));
    const runningWhileHeld = server.isRunning();
    const settledWhileHeld = settled;
    await sleep(Math.max(0, signalled + HOLD_AFTER_SIGNAL_MS - now()));
    await lock.release();

    const results = await Promise.all(replies);
    const exit = await Promise.race([server.exited, sleep(8000).then(() => undefined)]);

    assert.ok(
      runningWhileHeld,
      `the process exited (code ${server.child.exitCode}, signal ${server.child.signalCode}) ` +
        `before its in-flight requests finished${log()}`,
    );
    assert.equal(settledWhileHeld, 0, `in-flight requests ended before the lock was released${log()}`);
    assert.equal(refused, 'ECONNREFUSED', `a new connection after ${signal} was not refused${log()}`);
    assert.ok(
      refusedAt - signalled <= REFUSE_WITHIN_MS,
      `new connections were still accepted ${Math.round(refusedAt - signalled)} ms after ${signal}${log()}`,
    );
    // Asked over a connection opened before the signal: the only way to reach it now.
    assert.match(readyzAnswer, /^HTTP\/1\.1 503 /, `GET /readyz once shutdown began:\n${readyzAnswer}${log()}`);
    assert.ok(
      idleClosedAt !== undefined && idleClosedAt - signalled < HOLD_AFTER_SIGNAL_MS,
      `the idle keep-alive connection was not closed while draining ` +
        `(${idleClosedAt === undefined ? 'never' : `${Math.round(idleClosedAt - signalled)} ms after ${signal}`})${log()}`,
    );

    const failed = results.filter((r): r is Error => r instanceof Error);
    assert.deepEqual(failed.map(String), [], `in-flight requests without an answer${log()}`);
    const answered = results as Reply[];
    const described = describeReplies(
      answered.map((reply, i) => ({ label: `POST /posts #${i}`, reply })),
      server,
    );
    assert.deepEqual(
      answered.map((reply) => reply.status),
      Array<number>(IN_FLIGHT).fill(303),
      `in-flight POST /posts:\n${described}${log()}`,
    );
    const exitNote = exit
      ? `the process exited ${Math.round(exit.at - signalled)} ms after ${signal}`
      : 'the process was still running 8 s after they completed';
    for (const reply of answered) {
      assert.equal(
        reply.headers.connection,
        'close',
        `an answer during the drain kept its connection (${exitNote}):\n${described}${log()}`,
      );
    }

    assert.ok(exit, `the process did not exit after its requests finished${log()}`);
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, `exit status${log()}`);
    const lastAnswer = Math.max(...answered.map((reply) => reply.endedAt));
    assert.ok(
      exit.at - lastAnswer <= 2000,
      `the process exited only ${Math.round(exit.at - lastAnswer)} ms after its last in-flight answer${log()}`,
    );
    const logs = server.logs();
    const began = logs.findIndex((entry) => entry.signal === signal && /shut/i.test(String(entry.msg)));
    assert.ok(began >= 0, `no log line says shutdown began on ${signal}${log()}`);
    assert.ok(
      logs.slice(began + 1).some((entry) => /stopped/i.test(String(entry.msg))),
      `no log line says the process stopped${log()}`,
    );

    const ids = answered.map(postIdIn);
    const stored = await scalar<number>(db, 'SELECT count(*)::int FROM posts WHERE id = ANY($1::int[])', [ids]);
    assert.equal(stored, IN_FLIGHT, 'posts confirmed during the drain are missing');
    assert.equal(
      await scalar<number>(db, 'SELECT posts_count FROM users WHERE id = $1', [author.id]),
      IN_FLIGHT,
      "the author's posts_count",
    );
    assert.equal(await counterMismatches(db), 0);
  } finally {
    await lock.release();
    idleAgent.destroy();
    busyAgent.destroy();
    await server.kill();
  }
}

describe('graceful shutdown of the server process', () => {
  test('SIGTERM during slow POST /posts › readiness 503, new connections refused, the posts complete with 303 and Connection: close, idle keep-alive closed, exit 0', async () => {
    await drainScenario('SIGTERM');
  });

  test('SIGINT during slow POST /posts › the same orderly drain and exit 0', async () => {
    await drainScenario('SIGINT');
  });

  test('SIGTERM with a request longer than SHUTDOWN_TIMEOUT_MS › the process exits by itself in time and the held write is rolled back', async () => {
    const timeoutMs = 1500;
    const holdMs = 5000;
    const server = await startServer(database.url, { SHUTDOWN_TIMEOUT_MS: String(timeoutMs) });
    const log = (): string => server.tail();
    const [author] = await createUsers(db, 1, 'cutoff');
    assert.ok(author);
    const writer = new Visitor(server.port);
    await writer.logInToPost(author.username);

    const lock = await lockUser(db, author.id);
    try {
      const reply = writer.createPost('Cut off post', { timeoutMs: 15_000 }).catch((error: unknown) => error as Error);
      await waitForLockWaiters(db, 1, server);
      const signalled = now();
      server.child.kill('SIGTERM');
      const exit = await Promise.race([server.exited, sleep(holdMs).then(() => undefined)]);
      await lock.release();
      const answer = await reply;
      // The held statement runs on once the lock goes; the client it would answer is gone.
      await waitFor(
        'the app’s database sessions to end',
        async () => ((await appConnections(db)) === 0 ? true : undefined),
        {
          withinMs: 5000,
        },
      ).catch(() => undefined);

      if (!exit) {
        const late = await Promise.race([server.exited, sleep(5000).then(() => undefined)]);
        assert.fail(
          `still running ${holdMs} ms after SIGTERM with SHUTDOWN_TIMEOUT_MS=${timeoutMs}; it exited ` +
            `${late ? `${Math.round(late.at - signalled)} ms after SIGTERM, once the lock was released` : 'not even 5 s after the lock was released'}${log()}`,
        );
      }
      assert.ok(
        exit.at - signalled <= timeoutMs + 2000,
        `exited ${Math.round(exit.at - signalled)} ms after SIGTERM (timeout ${timeoutMs} ms)${log()}`,
      );
      assert.equal(exit.signal, null, `killed by ${exit.signal}, not exited by itself${log()}`);
      assert.ok(exit.code === 0 || exit.code === 1, `exit code ${exit.code}${log()}`);
      const logs = server.logs();
      const began = logs.findIndex((entry) => entry.signal === 'SIGTERM');
      assert.ok(
        began >= 0 && logs.slice(began + 1).some((entry) => Number(entry.level) >= 40),
        `no warning or error logged about the requests cut off${log()}`,
      );
      assert.ok(
        answer instanceof Error || answer.status !== 303,
        `the cut-off request was confirmed with a 303${log()}`,
      );

      assert.equal(
        await scalar<number>(db, 'SELECT count(*)::int FROM posts WHERE author_id = $1', [author.id]),
        0,
        `the cut-off write was committed${log()}`,
      );
      assert.equal(await scalar<number>(db, 'SELECT posts_count FROM users WHERE id = $1', [author.id]), 0);
      assert.equal(await counterMismatches(db), 0);
    } finally {
      await lock.release();
      await server.kill();
    }
  });
});
