// Database outages on real processes: the server (node src/server.ts) runs on a PostgreSQL
// of this file's own, which the test stops (fast, then immediate shutdown) and starts again
// while five logged-in people read and write. Checks the 503s, the recovery without a
// restart, and that nothing is lost or half done.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { Visitor } from '../support/browser.js';
import { postIdIn, type Reply, send } from '../support/http.js';
import { type OwnPostgres, startOwnPostgres } from '../support/postgres.js';
import { describeReplies, killServers, type ServerProcess, startServer } from '../support/server.js';
import {
  counterMismatches,
  createUsers,
  lockUser,
  sqlPool,
  type TestUser,
  waitForLockWaiters,
} from '../support/sql.js';
import { now, sleep } from '../support/wait.js';

const ACQUIRE_TIMEOUT_MS = 1500;
const CONNECT_TIMEOUT_MS = 1500;
// A request meeting a missing database answers within the pool's bound, plus this much.
const ANSWER_MARGIN_MS = 1500;
const CLIENT_TIMEOUT_MS = 5000;
// The promise under faults: serving normally again within 2 s of the database returning.
const RECOVERY_MS = 2000;
const POLL_EVERY_MS = 100;
const POLL_MARGIN_MS = 250;
const OUTAGE_MS = 2500;
const PEOPLE = 5;
// Each person's loop stops by itself after this many requests or this long.
const MAX_REQUESTS_PER_PERSON = 300;
const MAX_TRAFFIC_MS = 30_000;
const PAUSE_MS = 40;

type Kind = 'GET /posts' | 'GET /posts/:id' | 'POST /posts';
const KINDS: Kind[] = ['GET /posts', 'GET /posts/:id', 'POST /posts'];

interface Outcome {
  kind: Kind;
  label: string;
  startedAt: number;
  endedAt: number;
  reply?: Reply;
  error?: string;
}

let postgres: OwnPostgres;
let db: pg.Pool;
let server: ServerProcess;
let people: Visitor[];
// Someone whose post is in flight, held behind a row lock, when PostgreSQL goes away.
let held: { user: TestUser; visitor: Visitor };
// Posts whose POST answered 303: all of these must be in the database.
const confirmed = new Set<number>();
// Titles of posts whose POST got a 503 or no answer as the database went away: a COMMIT
// can succeed and its acknowledgement be lost with the server, so these may be stored.
const unanswered = new Set<string>();
let titles = 0;

function isUnavailablePage(reply: Reply): boolean {
  return reply.status === 503 && Number(reply.headers['retry-after']) > 0 && /Temporarily unavailable/.test(reply.body);
}

/** One request of `kind` by `person`, recorded whatever happens. */
async function attempt(kind: Kind, person: Visitor): Promise<Outcome> {
  const startedAt = now();
  let path = '/posts';
  const title = `Outage test post ${++titles}`;
  try {
    let reply: Reply;
    if (kind === 'POST /posts') {
      reply = await person.createPost(title, { timeoutMs: CLIENT_TIMEOUT_MS });
      const id = postIdIn(reply);
      if (reply.status === 303 && id !== undefined) confirmed.add(id);
      else if (isUnavailablePage(reply)) unanswered.add(title);
    } else {
      if (kind === 'GET /posts/:id') {
        const ids = [...confirmed];
        path = `/posts/${ids[Math.floor(Math.random() * ids.length)] ?? 1}`;
      }
      reply = await person.get(path, { timeoutMs: CLIENT_TIMEOUT_MS });
    }
    return { kind, label: `${kind.split(' ')[0]} ${path}`, startedAt, endedAt: now(), reply };
  } catch (error) {
    if (kind === 'POST /posts') unanswered.add(title);
    return { kind, label: `${kind.split(' ')[0]} ${path}`, startedAt, endedAt: now(), error: String(error) };
  }
}

/** Every person reads and writes in a loop until stopped (or their bound is reached). */
function startTraffic(): { outcomes: Outcome[]; stop(): Promise<Outcome[]> } {
  let stopping = false;
  const outcomes: Outcome[] = [];
  const deadline = now() + MAX_TRAFFIC_MS;
  const loops = people.map(async (person, p) => {
    for (let n = 0; n < MAX_REQUESTS_PER_PERSON && !stopping && now() < deadline; n++) {
      outcomes.push(await attempt(KINDS[(n + p) % KINDS.length] ?? 'GET /posts', person));
      await sleep(PAUSE_MS);
    }
  });
  return {
    outcomes,
    async stop() {
      stopping = true;
      await Promise.all(loops);
      return outcomes;
    },
  };
}

/** Repeats `kind` every POLL_EVERY_MS until it succeeds; the time of the first success. */
async function firstSuccess(kind: Kind, person: Visitor, outcomes: Outcome[], withinMs: number): Promise<number> {
  const deadline = now() + withinMs;
  while (now() < deadline) {
    const outcome = await attempt(kind, person);
    outcomes.push(outcome);
    if (outcome.reply?.status === (kind === 'POST /posts' ? 303 : 200)) return outcome.endedAt;
    await sleep(POLL_EVERY_MS);
  }
  return Infinity;
}

const describeOutcomes = (outcomes: Outcome[], since: number): string =>
  describeReplies(
    outcomes.map((o) => ({
      label: `+${Math.round(o.startedAt - since)} ms ${o.label}`,
      reply: o.reply,
      error: o.error,
    })),
    server,
  );

before(async () => {
  postgres = await startOwnPostgres();
  db = sqlPool(postgres.url);
  const users = await createUsers(db, PEOPLE + 1, 'outage');
  const heldUser = users.pop() as TestUser;
  server = await startServer(postgres.url, {
    DB_POOL_MAX: '5',
    DB_ACQUIRE_TIMEOUT_MS: String(ACQUIRE_TIMEOUT_MS),
    DB_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
    DB_STATEMENT_TIMEOUT_MS: '5000',
  });
  people = users.map(() => new Visitor(server.port));
  held = { user: heldUser, visitor: new Visitor(server.port) };
  await Promise.all([
    ...people.map((person, i) => person.logInToPost(users[i]?.username ?? '')),
    held.visitor.logInToPost(heldUser.username),
  ]);
  // Something for GET /posts/:id to show from the start.
  for (const person of people) {
    const outcome = await attempt('POST /posts', person);
    assert.equal(outcome.reply?.status, 303, `the first post failed: ${outcome.error ?? ''}${server.tail()}`);
  }
});

after(async () => {
  await killServers();
  await db?.end();
  await postgres?.close();
});

interface Timeline {
  outcomes: Outcome[];
  heldOutcome: Outcome;
  stopBegin: number;
  stopped: number;
  restartBegin: number;
  restarted: number;
  readAt: number;
  writeAt: number;
  health: Reply | string;
  ready: Reply | string;
  aliveDuringOutage: boolean;
}

/** Traffic; PostgreSQL stopped (`mode`) for OUTAGE_MS and started again; when what happened. */
async function runOutage(mode: 'fast' | 'immediate'): Promise<Timeline> {
  if (!postgres.running()) await postgres.start();
  const traffic = startTraffic();
  let lock: Awaited<ReturnType<typeof lockUser>> | undefined;
  try {
    await sleep(1000);

    // A write certainly in flight at the moment the database goes: waiting on a lock.
    lock = await lockUser(db, held.user.id);
    const heldWrite = attempt('POST /posts', held.visitor);
    await waitForLockWaiters(db, 1, server);

    const stopBegin = now();
    await (mode === 'fast' ? postgres.stopFast() : postgres.stopImmediate());
    const stopped = now();
    await lock.release();
    const heldOutcome = await heldWrite;
    traffic.outcomes.push(heldOutcome);

    // While it is down: liveness yes, readiness no, and the process is still there.
    await sleep(700);
    const health = await send(server.port, { path: '/healthz', timeoutMs: CLIENT_TIMEOUT_MS }).catch(String);
    const ready = await send(server.port, { path: '/readyz', timeoutMs: CLIENT_TIMEOUT_MS }).catch(String);
    const aliveDuringOutage = server.isRunning();
    await sleep(Math.max(0, stopped + OUTAGE_MS - now()));

    const restartBegin = now();
    await postgres.start();
    const restarted = now();
    const [readAt, writeAt] = await Promise.all([
      firstSuccess('GET /posts', new Visitor(server.port), traffic.outcomes, 8000),
      firstSuccess('POST /posts', people[0] as Visitor, traffic.outcomes, 8000),
    ]);
    // Normal traffic for a while after the 2 s allowed for the recovery.
    await sleep(Math.max(0, restarted + RECOVERY_MS + POLL_MARGIN_MS + 1500 - now()));
    const outcomes = await traffic.stop();
    return {
      outcomes,
      heldOutcome,
      stopBegin,
      stopped,
      restartBegin,
      restarted,
      readAt,
      writeAt,
      health,
      ready,
      aliveDuringOutage,
    };
  } finally {
    await lock?.release();
    await traffic.stop();
  }
}

async function outage(mode: 'fast' | 'immediate'): Promise<string> {
  const pidBefore = server.pid;
  const timeline = await runOutage(mode);
  const { outcomes, heldOutcome, stopBegin, stopped, restartBegin, restarted, readAt, writeAt } = timeline;
  const { health, ready, aliveDuringOutage } = timeline;
  const log = (): string => server.tail();

  // Never a hang, never a dropped connection.
  const failed = outcomes.filter((o) => o.error !== undefined);
  assert.deepEqual(failed, [], `requests without an answer:\n${describeOutcomes(failed, stopBegin)}${log()}`);

  assert.ok(
    heldOutcome.reply && isUnavailablePage(heldOutcome.reply),
    `the write in flight when PostgreSQL went away did not get the 503 page:\n` +
      `${describeOutcomes([heldOutcome], stopBegin)}${log()}`,
  );

  // Never a 500: only success or the 503 page, which always carries Retry-After.
  const unexpected = outcomes.filter((o) => {
    const reply = o.reply as Reply;
    return reply.status === 503 ? !isUnavailablePage(reply) : reply.status !== 200 && reply.status !== 303;
  });
  assert.deepEqual(
    unexpected.map((o) => `${o.label} ${o.reply?.status}`),
    [],
    `answers other than 200/303 or the 503 page with Retry-After:\n${describeOutcomes(unexpected, stopBegin)}${log()}`,
  );

  // Everything asked while the database was down: the 503 page, within the bound.
  const duringOutage = outcomes.filter((o) => o.startedAt >= stopped && o.endedAt <= restartBegin);
  for (const kind of KINDS) {
    assert.ok(
      duringOutage.some((o) => o.kind === kind),
      `no ${kind} was answered during the outage (${duringOutage.length} requests in it)${log()}`,
    );
  }
  const notUnavailable = duringOutage.filter((o) => o.reply?.status !== 503);
  assert.deepEqual(
    notUnavailable.map((o) => o.label),
    [],
    `requests during the outage not answered 503:\n${describeOutcomes(notUnavailable, stopBegin)}${log()}`,
  );
  const slow = outcomes.filter(
    (o) => o.reply?.status === 503 && o.endedAt - o.startedAt > ACQUIRE_TIMEOUT_MS + ANSWER_MARGIN_MS,
  );
  assert.deepEqual(
    slow.map((o) => o.label),
    [],
    `503s slower than ${ACQUIRE_TIMEOUT_MS + ANSWER_MARGIN_MS} ms:\n${describeOutcomes(slow, stopBegin)}${log()}`,
  );

  assert.ok(aliveDuringOutage, `the server process exited during the outage${log()}`);
  assert.equal(typeof health === 'string' ? health : health.status, 200, `GET /healthz during the outage${log()}`);
  assert.equal(typeof ready === 'string' ? ready : ready.status, 503, `GET /readyz during the outage${log()}`);
  assert.ok(typeof ready !== 'string' && ready.ms <= 1000 + ANSWER_MARGIN_MS, `GET /readyz answered slowly${log()}`);

  // Back within 2 s of the database accepting connections, without a restart.
  const recovery = (at: number): string => `${Math.round(at - restarted)} ms`;
  const sinceRestart = (o: Outcome): boolean => o.startedAt >= restartBegin;
  assert.ok(
    readAt - restarted <= RECOVERY_MS + POLL_MARGIN_MS,
    `GET /posts answered 200 only ${recovery(readAt)} after PostgreSQL was back:\n` +
      `${describeOutcomes(outcomes.filter(sinceRestart), restarted)}${log()}`,
  );
  assert.ok(
    writeAt - restarted <= RECOVERY_MS + POLL_MARGIN_MS,
    `POST /posts answered 303 only ${recovery(writeAt)} after PostgreSQL was back:\n` +
      `${describeOutcomes(outcomes.filter(sinceRestart), restarted)}${log()}`,
  );
  const afterRecovery = outcomes.filter((o) => o.startedAt >= restarted + RECOVERY_MS + POLL_MARGIN_MS);
  assert.ok(afterRecovery.length > 10, `too little traffic after the recovery (${afterRecovery.length})`);
  const stillFailing = afterRecovery.filter((o) => o.reply?.status !== 200 && o.reply?.status !== 303);
  assert.deepEqual(
    stillFailing.map((o) => o.label),
    [],
    `failures more than ${RECOVERY_MS} ms after the recovery:\n${describeOutcomes(stillFailing, restarted)}${log()}`,
  );
  assert.ok(server.isRunning(), `the server process exited${log()}`);
  // Everything the server said went through its JSON log: no stack printed beside it.
  const stderr = server.lines.filter((line) => line.startsWith('[stderr]'));
  assert.deepEqual(stderr, [], `the server wrote outside its log:\n${stderr.slice(0, 20).join('\n')}`);
  assert.equal(server.pid, pidBefore, 'the server process was replaced');
  assert.equal(server.lines.filter((line) => /is running at/.test(line)).length, 1, `the server restarted${log()}`);
  return (
    `${outcomes.length} requests, ${duringOutage.length} during the outage (all 503); ` +
    `back ${recovery(readAt)} (GET) and ${recovery(writeAt)} (POST) after PostgreSQL accepted connections`
  );
}

describe('PostgreSQL stopped and started again under load', () => {
  test('fast shutdown › 503 with Retry-After while down, /readyz 503, back within 2 s, no restart', async (t) => {
    t.diagnostic(await outage('fast'));
  });

  test('immediate shutdown › 503 with Retry-After while down, /readyz 503, back within 2 s, no restart', async (t) => {
    t.diagnostic(await outage('immediate'));
  });

  // Checked on its own, so that it runs whatever the tests above found.
  test('after both outages › every post confirmed with a 303 is stored; nothing else but a post whose answer was lost with the database; posts_count exact', async (t) => {
    if (!postgres.running()) await postgres.start();
    const rows = (await db.query<{ id: number; title: string }>('SELECT id, title FROM posts ORDER BY id')).rows;
    const ids = rows.map((row) => row.id);
    const missing = [...confirmed].filter((id) => !ids.includes(id));
    assert.deepEqual(missing, [], 'posts confirmed with a 303 are missing from the database');
    const untraced = rows.filter((row) => !confirmed.has(row.id));
    assert.deepEqual(
      untraced.filter((row) => !unanswered.has(row.title)),
      [],
      'posts in the database whose POST answered neither 303 nor 503 (a failed write left a trace)',
    );
    t.diagnostic(
      `${untraced.length} of ${unanswered.size} POSTs answered 503 or not at all were committed all the same`,
    );
    assert.equal(await counterMismatches(db), 0, 'users whose posts_count differs from their number of posts');
    assert.ok(confirmed.size > 50, `too few confirmed posts to mean anything (${confirmed.size})`);
    t.diagnostic(`${confirmed.size} confirmed posts, all stored; nothing else stored`);
  });
});
