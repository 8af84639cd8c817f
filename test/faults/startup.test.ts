// How the app starts where it is deployed: beside a database that comes up after it (compose,
// Kubernetes and systemd start both together), and behind a TLS proxy it was not told to
// trust, which otherwise shows only as forms answering 403.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { send } from '../support/http.js';
import { startOwnPostgres } from '../support/postgres.js';
import { killServers, startServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

after(async () => {
  await killServers();
});

const messages = (logs: Record<string, unknown>[], pattern: RegExp): string[] =>
  logs.map((line) => String(line.msg)).filter((msg) => pattern.test(msg));

describe('starting before the database', () => {
  test('DATABASE_URL whose server is not up yet › serves 503s, says once what it waits for, then serves without a restart', async () => {
    const postgres = await startOwnPostgres();
    try {
      await postgres.stopFast();
      // startServer returns once GET /healthz answers 200: the process is up without its database.
      const server = await startServer(postgres.url);

      const ready = await send(server.port, { path: '/readyz' });
      assert.equal(ready.status, 503);
      assert.ok(ready.headers['retry-after'], 'readiness 503 without Retry-After');
      const page = await send(server.port, { path: '/posts' });
      assert.equal(page.status, 503, page.body.slice(0, 300));
      assert.ok(page.headers['retry-after'], 'page 503 without Retry-After');
      assert.match(page.body, /<html/i);

      // Several retries pass, one line says what it waits for.
      const waiting = new RegExp(`waiting for PostgreSQL at 127\\.0\\.0\\.1:${postgres.port}`);
      await waitFor('the waiting line', () => (messages(server.logs(), waiting).length > 0 ? true : undefined), {
        withinMs: 10_000,
      });
      await new Promise((resolve) => setTimeout(resolve, 2500));
      assert.equal(messages(server.logs(), waiting).length, 1, server.tail());

      await postgres.start();
      await waitFor(
        'GET /posts to answer 200',
        async () => ((await send(server.port, { path: '/posts' })).status === 200 ? true : undefined),
        { withinMs: 20_000, everyMs: 250 },
      );
      assert.equal((await send(server.port, { path: '/readyz' })).status, 200);
      assert.ok(server.isRunning());
      await waitFor(
        'the line saying the database answers',
        () => (messages(server.logs(), /answers: serving/).length === 1 ? true : undefined),
        { withinMs: 10_000 },
      );
    } finally {
      await postgres.close();
    }
  });
});

describe('behind a TLS proxy it does not trust', () => {
  test('production, TRUST_PROXY unset › requests through an HTTPS proxy › one warning naming TRUST_PROXY, none when it is set', async () => {
    const postgres = await startOwnPostgres();
    try {
      const server = await startServer(postgres.url, { TRUST_PROXY: '0' });
      const warning = /X-Forwarded-Proto: https.*TRUST_PROXY is unset/;
      for (let i = 0; i < 3; i++) await send(server.port, { path: '/login' });
      await waitFor('the warning', () => (messages(server.logs(), warning).length > 0 ? true : undefined), {
        withinMs: 5000,
      });
      const lines = server.logs().filter((line) => warning.test(String(line.msg)));
      assert.equal(lines.length, 1, server.tail());
      assert.equal(lines[0]!.level, 40);

      const trusted = await startServer(postgres.url, { TRUST_PROXY: '1' });
      for (let i = 0; i < 3; i++) await send(trusted.port, { path: '/login' });
      assert.deepEqual(messages(trusted.logs(), warning), []);
    } finally {
      await postgres.close();
    }
  });
});
