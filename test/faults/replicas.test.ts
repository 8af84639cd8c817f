// Read replicas on real servers: a primary and a hot standby streaming on loopback, the
// standby applying changes 2 s late (recovery_min_apply_delay). Reads go to the standby;
// writes to the primary; whoever writes reads their write at once; a standby that stops is
// skipped and reported by /readyz.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { Visitor } from '../support/browser.js';
import { send } from '../support/http.js';
import { type OwnPostgres, startOwnPostgres } from '../support/postgres.js';
import { killServers, startServer, type ServerProcess } from '../support/server.js';
import { createUsers, sqlPool } from '../support/sql.js';
import { sleep, waitFor } from '../support/wait.js';
import { type Standby, startStandby } from '../support/standby.js';

const APPLY_DELAY_MS = 2000;

let primary: OwnPostgres;
let standby: Standby;
let db: pg.Pool;
let server: ServerProcess;

before(async () => {
  primary = await startOwnPostgres();
  db = sqlPool(primary.url);
  standby = await startStandby(primary, { applyDelayMs: APPLY_DELAY_MS });
  server = await startServer(primary.url, {
    DATABASE_REPLICA_URLS: standby.url,
    REPLICA_READ_AFTER_WRITE_MS: '10000',
  });
});

after(async () => {
  await killServers();
  await db?.end();
  await standby?.dispose();
  await primary?.close();
});

/** The app's own connections (not its health checks) on a server. */
async function appConnections(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE application_name LIKE 'users-and-posts:%' AND application_name <> 'users-and-posts:replica-check'`,
    );
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}

/** GET /readyz, once it reports the standby `state`. */
function readyzWhenStandby(state: 'up' | 'down'): Promise<{ status: number; body: string }> {
  return waitFor(
    `the standby to be reported ${state}`,
    async () => {
      const reply = await send(server.port, { path: '/readyz' });
      return reply.body.includes(`replica 127.0.0.1:${standby.port}: ${state}`) ? reply : undefined;
    },
    { withinMs: 10_000, everyMs: 200 },
  );
}

describe('a primary and a streaming standby', () => {
  test('/readyz reports the standby; anonymous pages are read from it', async () => {
    const ready = await readyzWhenStandby('up');
    assert.equal(ready.status, 200);
    for (let i = 0; i < 5; i++) assert.equal((await send(server.port, { path: '/posts' })).status, 200);
    assert.ok((await appConnections(standby.url)) > 0, 'the app has no connection to the standby');
  });

  test('a write goes to the primary and its author reads it at once, while the standby still lags', async () => {
    const [author] = await createUsers(db, 1, 'replica');
    // The account must have reached the standby before an anonymous visitor could see it there.
    await sleep(APPLY_DELAY_MS + 500);
    const writer = new Visitor(server.port);
    await writer.logInToPost(author!.username);
    const created = await writer.createPost('Written to the primary');
    assert.equal(created.status, 303, server.tail());
    const location = String(created.headers.location);

    const own = await writer.get(location);
    assert.equal(own.status, 200, `its author did not see the new post${server.tail()}`);
    assert.match(own.body, /Written to the primary/);
    // Someone else reads the standby, which applies the insert only APPLY_DELAY_MS later.
    const stranger = await send(server.port, { path: location });
    assert.equal(stranger.status, 404, 'an anonymous read did not come from the lagging standby');
    const caughtUp = await waitFor(
      'the standby to apply the post',
      async () => ((await send(server.port, { path: location })).status === 200 ? true : undefined),
      { withinMs: APPLY_DELAY_MS * 3, everyMs: 200 },
    );
    assert.ok(caughtUp);
  });

  test('the standby stops: /readyz says so, and every page still answers from the primary', async () => {
    await standby.stop();
    const down = await readyzWhenStandby('down');
    assert.equal(down.status, 200, 'the app reported itself unready for a standby down');
    const replies = await Promise.all(
      ['/', '/posts', '/users', '/posts?q=primary'].map((path) => send(server.port, { path })),
    );
    assert.deepEqual(
      replies.map((reply) => reply.status),
      [200, 200, 200, 200],
      server.tail(),
    );
  });
});
