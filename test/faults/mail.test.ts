// The mail outbox on real processes: a mail server that is down when a reset is asked for,
// two processes sharing one outbox, SIGTERM with mails still waiting, production without a
// way to send mail; then a development start out of the box, writing mails to a folder.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { simpleParser } from 'mailparser';
import type pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/app.js';
import { Visitor } from '../support/browser.js';
import { send } from '../support/http.js';
import { freePort } from '../support/ports.js';
import { startOwnPostgres } from '../support/postgres.js';
import { killServers, ROOT, type ServerProcess, startServer } from '../support/server.js';
import { linkIn, startSmtp, type TestSmtp } from '../support/smtp.js';
import { createUsers, sqlPool } from '../support/sql.js';
import { sleep, waitFor } from '../support/wait.js';

const PUBLIC_URL = 'http://app.example.test';
const mailEnv = (smtp: TestSmtp) => ({ SMTP_URL: smtp.url, PUBLIC_URL, MAIL_POLL_MS: '50' });

interface OutboxRow {
  id: string;
  recipient: string;
  attempts: number;
  last_error: string | null;
  sent_at: Date | null;
  body: string | null;
  due: boolean;
}

async function outbox(db: pg.Pool, recipientLike = '%'): Promise<OutboxRow[]> {
  const { rows } = await db.query<OutboxRow>(
    `SELECT id, recipient, attempts, last_error, sent_at, body, next_attempt_at <= now() AS due
       FROM mail_outbox WHERE recipient LIKE $1 ORDER BY id`,
    [recipientLike],
  );
  return rows;
}

/** `count` mails put straight into the outbox in one transaction, to prefix_1@example.com and on. */
async function queueMails(db: pg.Pool, prefix: string, count: number): Promise<string[]> {
  await db.query(
    `INSERT INTO mail_outbox (kind, recipient, subject, body)
     SELECT 'password_reset', $1 || '_' || g || '@example.com', 'Queued ' || g, 'The body of mail ' || g
       FROM generate_series(1, $2::int) AS g`,
    [prefix, count],
  );
  return Array.from({ length: count }, (_, i) => `${prefix}_${i + 1}@example.com`);
}

/** How many mails each address received (every address of `recipients` listed, 0 when none). */
function receivedBy(smtp: TestSmtp, recipients: string[]): Map<string, number> {
  const counts = new Map(recipients.map((to) => [to, 0]));
  for (const mail of smtp.mails) if (counts.has(mail.to)) counts.set(mail.to, counts.get(mail.to)! + 1);
  return counts;
}

const notOnce = (counts: Map<string, number>): string[] =>
  [...counts].filter(([, n]) => n !== 1).map(([to, n]) => `${to}: ${n}`);

const sentBy = (server: ServerProcess): number => server.logs().filter((line) => line.msg === 'mail sent').length;

describe('the mail outbox, on server processes', () => {
  let smtp: TestSmtp;
  let database: TestDatabase;
  let db: pg.Pool;

  before(async () => {
    smtp = await startSmtp();
  });
  after(async () => {
    await smtp?.stop();
  });

  // A database per test: no process of one test delivers the mails of another.
  const freshDatabase = async (): Promise<void> => {
    database = await createTestDatabase({ migrated: true });
    db = sqlPool(database.url);
  };
  afterEach(async () => {
    await killServers();
    await db?.end();
    await database?.drop();
  });

  test('the mail server is down when a reset is asked for › 303 all the same, retried with the error kept, delivered once when it is back', async () => {
    await freshDatabase();
    const server = await startServer(database.url, mailEnv(smtp));
    const [user] = await createUsers(db, 1, 'outage');
    assert.ok(user);
    const email = `${user.username}@example.com`;

    await smtp.stop();
    let restarted = false;
    try {
      const visitor = new Visitor(server);
      const reply = await visitor.submit('POST', '/password/forgot', { email });
      assert.equal(reply.status, 303, `${reply.body.slice(0, 300)}${server.tail()}`);
      assert.match(String(reply.headers.location), /^\/login/);

      const failed = await waitFor(
        'a failed attempt recorded on the outbox row',
        async () => {
          const [row] = await outbox(db, email);
          return row && row.attempts >= 1 && row.last_error ? row : undefined;
        },
        { withinMs: 15_000, everyMs: 50 },
      ).catch((error: Error) => assert.fail(`${error.message}${server.tail()}`));
      assert.equal(failed.sent_at, null);
      assert.ok(failed.body, 'the body of an unsent mail was cleared');
      assert.match(failed.last_error ?? '', /ECONNREFUSED|connect/i);
      assert.equal(receivedBy(smtp, [email]).get(email), 0);

      await smtp.start();
      restarted = true;
      // The backoff after a few failures is a few seconds: generous.
      const mail = await smtp
        .waitForMail(email, { subject: /new password/, withinMs: 45_000 })
        .catch((error: Error) => assert.fail(`${error.message}${server.tail()}`));
      const link = linkIn(mail);
      assert.equal(link.origin, PUBLIC_URL);
      assert.match(link.pathname, /^\/password\/reset\/[A-Za-z0-9_-]{43}$/);

      const sent = await waitFor(
        'the outbox row marked sent',
        async () => {
          const [row] = await outbox(db, email);
          return row?.sent_at ? row : undefined;
        },
        { withinMs: 10_000 },
      );
      assert.equal(sent.body, null, 'the body of a sent mail (it holds the link) was kept');
      assert.equal(sent.last_error, null);
      assert.ok(sent.attempts >= 2, `attempts: ${sent.attempts}`);

      // Long enough for several more polls: nothing sends it again.
      await sleep(1500);
      assert.equal(receivedBy(smtp, [email]).get(email), 1, 'the mail arrived more than once');
      assert.equal((await outbox(db)).length, 1);

      // And the link delivered late still works.
      const page = await visitor.get(link.pathname);
      assert.equal(page.status, 200, page.body.slice(0, 300));
      assert.match(page.body, /Set a new password/);
    } finally {
      if (!restarted) await smtp.start();
    }
  });

  test('two processes on one outbox, 40 mails queued › each delivered exactly once, by recipient and Message-ID, every row sent', async () => {
    await freshDatabase();
    const [one, two] = await Promise.all([
      startServer(database.url, mailEnv(smtp)),
      startServer(database.url, mailEnv(smtp)),
    ]);
    const recipients = await queueMails(db, `pair${Date.now()}`, 40);

    await waitFor(
      'all 40 mails to arrive',
      () => ([...receivedBy(smtp, recipients).values()].every((n) => n >= 1) ? true : undefined),
      { withinMs: 60_000 },
    ).catch((error: Error) => assert.fail(`${error.message}${one.tail()}${two.tail()}`));
    await waitFor(
      'every row marked sent',
      async () => ((await outbox(db)).every((row) => row.sent_at) ? true : undefined),
      { withinMs: 10_000 },
    );
    // Several more polls of both: nothing goes out twice.
    await sleep(1000);

    assert.deepEqual(notOnce(receivedBy(smtp, recipients)), [], 'mails not received exactly once');
    const ids = smtp.mails.filter((mail) => recipients.includes(mail.to)).map((mail) => mail.messageId);
    assert.equal(ids.length, 40);
    assert.equal(new Set(ids).size, 40, `Message-IDs repeated: ${ids.join(' ')}`);
    for (const id of ids) assert.match(id, /^<outbox-\d+@app\.example\.test>$/);
    const rows = await outbox(db);
    assert.deepEqual(
      rows.filter((row) => !row.sent_at || row.body !== null).map((row) => row.recipient),
      [],
      'rows not marked sent, or sent with their body kept',
    );
    // The two shared the work (each took mails the other had not locked).
    const counts = [sentBy(one), sentBy(two)];
    assert.equal(counts[0]! + counts[1]!, 40, `"mail sent" lines: ${counts.join(' + ')}`);
    assert.ok(
      counts.every((n) => n > 0),
      `one process sent every mail (${counts.join(' + ')}): were they sharing the outbox?`,
    );
  });

  test('SIGTERM while mails wait › exits 0, no mail lost or doubled: the rest stay due and the next process sends them', async () => {
    await freshDatabase();
    const first = await startServer(database.url, mailEnv(smtp));
    const recipients = await queueMails(db, `term${Date.now()}`, 60);

    await waitFor(
      'the first mails to arrive',
      () => ([...receivedBy(smtp, recipients).values()].some((n) => n > 0) ? true : undefined),
      { withinMs: 20_000, everyMs: 10 },
    ).catch((error: Error) => assert.fail(`${error.message}${first.tail()}`));
    assert.ok(first.child.kill('SIGTERM'));
    const exit = await Promise.race([first.exited, sleep(20_000).then(() => undefined)]);
    assert.ok(exit, `the process did not exit within 20 s of SIGTERM${first.tail()}`);
    assert.deepEqual([exit.code, exit.signal], [0, null], first.tail());

    // A graceful stop finishes the mail in hand: what arrived is what is marked sent, and nothing twice.
    const afterStop = await outbox(db);
    const arrived = receivedBy(smtp, recipients);
    const pending = afterStop.filter((row) => !row.sent_at);
    assert.ok(pending.length > 0, `every mail went out before the stop: the test proves nothing${first.tail()}`);
    assert.deepEqual(
      afterStop.filter((row) => Boolean(row.sent_at) !== (arrived.get(row.recipient) === 1)).map((r) => r.recipient),
      [],
      'rows whose state does not match what the mail server received',
    );
    assert.deepEqual(
      pending.filter((row) => !row.due || row.body === null || row.attempts !== 0).map((row) => row.recipient),
      [],
      'unsent rows that are no longer due as they were, or lost their body',
    );
    assert.equal([...arrived.values()].filter((n) => n > 1).length, 0, 'a mail was received twice before the stop');

    const second = await startServer(database.url, mailEnv(smtp));
    await waitFor(
      'the remaining mails to arrive',
      () => ([...receivedBy(smtp, recipients).values()].every((n) => n >= 1) ? true : undefined),
      { withinMs: 90_000 },
    ).catch((error: Error) => assert.fail(`${error.message}${second.tail()}`));
    await waitFor(
      'every row marked sent',
      async () => ((await outbox(db)).every((row) => row.sent_at) ? true : undefined),
      { withinMs: 10_000 },
    );
    await sleep(500);
    assert.deepEqual(notOnce(receivedBy(smtp, recipients)), [], 'mails not received exactly once');
    assert.equal(sentBy(second), pending.length, second.tail());
  });
});

describe('a mail server that stops answering mid-conversation', () => {
  let database: TestDatabase;
  let db: pg.Pool;
  let stall: net.Server | undefined;
  const sockets: net.Socket[] = [];
  after(async () => {
    await killServers();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => (stall ? stall.close(resolve) : resolve(undefined)));
    await db?.end();
    await database?.drop();
  });

  test('it greets, then never answers › the attempt is recorded and put off, not lost with its transaction', async () => {
    database = await createTestDatabase({ migrated: true });
    db = sqlPool(database.url);
    // Greets, then reads every command and answers none (a hung relay, a half-open firewall).
    stall = net.createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => undefined);
      socket.resume();
      socket.write('220 stall.example.test ESMTP\r\n');
    });
    await new Promise<void>((resolve) => stall!.listen(0, '127.0.0.1', resolve));
    const { port } = stall.address() as net.AddressInfo;
    // PostgreSQL then ends a session left idle in its transaction after 10 s.
    const server = await startServer(database.url, {
      SMTP_URL: `smtp://127.0.0.1:${port}`,
      PUBLIC_URL,
      MAIL_POLL_MS: '50',
      DB_STATEMENT_TIMEOUT_MS: '4000',
    });
    const [recipient] = await queueMails(db, `stall${Date.now()}`, 1);

    const row = await waitFor(
      'the failed attempt recorded on the row',
      async () => {
        const [found] = await outbox(db, recipient);
        return found && found.attempts >= 1 ? found : undefined;
      },
      { withinMs: 25_000, everyMs: 100 },
    ).catch((error: Error) => assert.fail(`${error.message}${server.tail()}`));
    assert.equal(row.sent_at, null);
    assert.match(row.last_error ?? '', /no answer from the mail server/);
    assert.equal(row.due, false, 'the next attempt was not put off');
    assert.ok(row.body);
    const lost = server.logs().filter((line) => /cannot read the outbox/.test(String(line.msg)));
    assert.deepEqual(lost, [], `the attempt's transaction was ended under it${server.tail()}`);
  });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node --import tsx src/server.ts` with `env` (and none of the runner's, nor any mail setting), to its exit. */
function runServer(env: Record<string, string>): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['NODE_TEST_CONTEXT', 'TEST_SERVER_URL', 'TEST_TEMPLATE_DATABASE', 'WEB_CONCURRENCY']) {
    delete childEnv[name];
  }
  for (const name of ['SMTP_URL', 'MAIL_DIR', 'MAIL_DISABLED', 'PUBLIC_URL']) delete childEnv[name];
  Object.assign(childEnv, env);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/server.ts'],
      { cwd: ROOT, env: childEnv, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('production must choose where mails go', () => {
  const production = {
    NODE_ENV: 'production',
    DATABASE_URL: 'postgres://app:secret@127.0.0.1:1/app',
    SESSION_SECRET: 'a-mail-test-session-secret-of-enough-length',
    PORT: '0',
  };

  test('production without SMTP_URL nor MAIL_DISABLED › refuses to start, saying SMTP_URL is required', async () => {
    const result = await runServer(production);
    assert.notEqual(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stderr, /SMTP_URL is required in production/);
    assert.match(result.stderr, /MAIL_DISABLED=true/);
  });

  test('production with SMTP_URL but no PUBLIC_URL › refuses to start, saying links need PUBLIC_URL', async () => {
    const result = await runServer({ ...production, SMTP_URL: 'smtp://127.0.0.1:1' });
    assert.notEqual(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stderr, /PUBLIC_URL is required in production to send mails/);
  });
});

describe('development, out of the box', () => {
  const children: ChildProcess[] = [];
  const temporary: string[] = [];
  after(async () => {
    const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
    for (const child of running) child.kill('SIGKILL');
    await Promise.all(running.map((child) => new Promise((resolve) => child.once('exit', resolve))));
    for (const dir of temporary) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('no mail setting › the banner names <DATA_DIR>/mail, and signing up writes the confirmation there as NNNNNN.eml', async () => {
    const postgres = await startOwnPostgres();
    try {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'users-and-posts-mail-dev-'));
      temporary.push(dataDir);
      const mailDir = path.join(dataDir, 'mail');
      const port = await freePort();
      const env: NodeJS.ProcessEnv = { ...process.env };
      for (const name of [
        'NODE_TEST_CONTEXT',
        'TEST_SERVER_URL',
        'TEST_TEMPLATE_DATABASE',
        'NODE_ENV',
        'WEB_CONCURRENCY',
        'SMTP_URL',
        'MAIL_DIR',
        'MAIL_DISABLED',
        'PUBLIC_URL',
      ]) {
        delete env[name];
      }
      Object.assign(env, {
        DATABASE_URL: postgres.url,
        DATA_DIR: dataDir,
        SESSION_SECRET: 'a-dev-mail-test-session-secret-of-enough-length',
        PORT: String(port),
        MAIL_POLL_MS: '50',
      });
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal })),
      );

      await waitFor(
        'the banner',
        () => {
          if (child.exitCode !== null) throw new Error(`the app exited while starting:\n${output}`);
          return /Ctrl-C stops it/.test(output) ? true : undefined;
        },
        { withinMs: 60_000, everyMs: 100 },
      );
      assert.ok(
        output.includes(`Mail: written to ${mailDir}, one .eml and one .txt file per mail`),
        `the banner does not name ${mailDir}:\n${output}`,
      );
      assert.equal((await send(port, { path: '/healthz' })).status, 200);

      const username = `devmail_${Math.random().toString(36).slice(2, 8)}`;
      const visitor = new Visitor(port);
      const reply = await visitor.submit('POST', '/signup', {
        username,
        email: `${username}@example.com`,
        password: 'correct horse battery staple',
        displayName: 'Dev Mail',
      });
      assert.equal(reply.status, 303, `${reply.body.slice(0, 500)}\n${output}`);

      const files = await waitFor(
        'a mail file',
        () => {
          const names = fs.existsSync(mailDir) ? fs.readdirSync(mailDir) : [];
          return names.some((name) => name.endsWith('.eml')) ? names : undefined;
        },
        { withinMs: 20_000 },
      ).catch((error: Error) => assert.fail(`${error.message}\n${output}`));
      // The mail for a mail client, and the same as text, its link on one line, for a terminal.
      assert.equal(files.length, 2, `files in ${mailDir}: ${files.join(', ')}`);
      const [eml, txt] = [files.find((name) => name.endsWith('.eml'))!, files.find((name) => name.endsWith('.txt'))];
      assert.match(eml, /^\d{6}\.eml$/);
      assert.equal(txt, eml.replace(/\.eml$/, '.txt'));
      const text = fs.readFileSync(path.join(mailDir, txt), 'utf8');
      assert.match(text, new RegExp(`^To: ${username}@example\\.com$`, 'm'));
      assert.match(text, /^http:\/\/127\.0\.0\.1:\d+\/email\/confirm\/[A-Za-z0-9_-]{43}$/m);

      const parsed = await simpleParser(fs.readFileSync(path.join(mailDir, eml)));
      const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
      assert.equal(to?.value[0]?.address, `${username}@example.com`);
      assert.match(parsed.subject ?? '', /Confirm your address/);
      const link = linkIn({
        to: `${username}@example.com`,
        subject: parsed.subject ?? '',
        text: parsed.text ?? '',
        messageId: parsed.messageId ?? '',
      });
      assert.match(link.pathname, /^\/email\/confirm\/[A-Za-z0-9_-]{43}$/);
      const page = await visitor.get(link.pathname);
      assert.equal(page.status, 200, page.body.slice(0, 300));
      assert.match(page.body, /Confirm your address/);

      child.kill('SIGTERM');
      const exit = await Promise.race([exited, sleep(20_000).then(() => undefined)]);
      assert.deepEqual(exit, { code: 0, signal: null }, output);
    } finally {
      await postgres.close();
    }
  });
});
