// Load check: a bounded mixed read/write load against the app on loopback, with a seeded
// database, then the invariants. Each connection is one browser cycling read, read, write
// (POST /posts), follow (GET of the 303's Location, logged in), read: ~80 % reads, ~20 %
// writes. The machine is shared and noisy: compare runs side by side, not lone figures.
import { DEMO_USERS } from '../seeders/data/demo-content.js';
import { type AppProcess, startApp } from './app.js';
import { checkConsistency, countPosts, EmbeddedServer, seedDatabase, withClient } from './database.js';
import {
  figuresOf,
  type LoadOptions,
  type LoadResult,
  logIn,
  runLoad,
  type Session,
  writeAndFollow,
  writeOnce,
} from './driver.js';
import { readOptions, sizes, usageError } from './options.js';
import { figuresTable, mib, seconds, statusList } from './report.js';
import { type Cleanup, now, rssMiB, runScript, sleep } from './support.js';

// The whole report goes to stdout, progress included.
const log = (message: string): void => console.log(message);
const LOGGED_IN_USERS = 10;
const MAX_SESSIONS = 200;
const LOGIN_CONCURRENCY = 4;
const WARM_UP_S = 5;
const DB_DOWN_MS = 2000;
const RECOVERY_LIMIT_MS = 2000;
const KINDS: [string, string][] = [
  ['read', 'reads (anonymous GET)'],
  ['follow', 'reads after a write (GET Location, logged in)'],
  ['write', 'writes (POST /posts)'],
];

const options = readOptions(
  `Usage: npm run bench:load -- [options]

Starts an embedded PostgreSQL and the app (NODE_ENV=production, its own process), seeds the
demo and volume data, logs in demo users, loads the app with ~80 % reads and ~20 % writes,
prints a Markdown table, then checks the invariants (posts_count, one post per 303, no
orphans). Exit 0 when there was no 5xx (bar 503 while the database was down), the invariants
hold, and after a restart the app served again within 2 s; 1 when a check failed; 2 on bad options.`,
  {
    connections: { env: 'BENCH_CONNECTIONS', help: 'concurrent connections', min: 1, max: 10_000, fallback: 50 },
    duration: { env: 'BENCH_DURATION', help: 'seconds of measured load', min: 1, max: 3600, fallback: 30 },
    ...sizes(200, 5000),
    restartDbAt: { env: 'BENCH_RESTART_DB_AT', help: 'restart PostgreSQL S seconds into the load', min: 1, max: 3600 },
    databaseUrl: {
      env: 'BENCH_DATABASE_URL',
      help: 'use this database (rows are added)',
      pattern: /^postgres(ql)?:\/\//,
    },
    appLog: { env: 'BENCH_APP_LOG', help: 'write everything the app prints to this file' },
  },
);
if (options.databaseUrl !== undefined && options.restartDbAt !== undefined) {
  usageError('--restart-db-at needs the embedded PostgreSQL: this script cannot restart the server of --database-url');
}
if (options.restartDbAt !== undefined && options.restartDbAt >= options.duration) {
  usageError(`--restart-db-at (${options.restartDbAt}) must be less than --duration (${options.duration})`);
}

interface Verdict {
  ok: boolean;
  lines: string[];
}

function check(verdict: Verdict, pass: boolean, text: string): void {
  verdict.lines.push(`${pass ? 'PASS' : 'FAIL'} ${text}`);
  if (!pass) verdict.ok = false;
}

/** One session per connection (up to MAX_SESSIONS), spread over the first demo users. */
async function logInUsers(app: AppProcess): Promise<Session[]> {
  const count = Math.min(MAX_SESSIONS, Math.max(LOGGED_IN_USERS, options.connections));
  const usernames = DEMO_USERS.slice(0, LOGGED_IN_USERS).map((user) => user.username);
  log(`logging in ${usernames.length} demo users (${count} sessions, one per connection)…`);
  const sessions: Session[] = [];
  // A few at a time: each login hashes a password on purpose slowly.
  for (let i = 0; i < count; i += LOGIN_CONCURRENCY) {
    const batch = Array.from({ length: Math.min(LOGIN_CONCURRENCY, count - i) }, (_, j) =>
      logIn(app.origin, usernames[(i + j) % usernames.length]!),
    );
    sessions.push(...(await Promise.all(batch)));
  }
  for (const session of sessions) await writeOnce(app.origin, session);
  return sessions;
}

function progress(elapsedS: number, result: LoadResult): void {
  const all = figuresOf([...result.byKind.values()], 1000);
  log(
    `  ${elapsedS} s: ${all.responses.toLocaleString('en-US')} responses, 5xx ${all.classes[3]}, errors/timeouts ${all.errors + all.timeouts}`,
  );
}

interface RestartMarks {
  /** Ms from the start of the load: shutdown requested, shutdown done, start done. */
  downAtMs: number;
  stoppedAtMs: number;
  backAtMs: number;
}

/** Stops PostgreSQL `atS` seconds after `start`, waits, starts it again; marks the times. */
async function restartDatabase(server: EmbeddedServer, atS: number, start: number): Promise<RestartMarks> {
  await sleep(Math.max(0, atS * 1000 - (now() - start)));
  const downAtMs = now() - start;
  log(`  ${seconds(downAtMs)}: restarting PostgreSQL (fast shutdown)…`);
  await server.stopPostgres();
  const stoppedAtMs = now() - start;
  await sleep(DB_DOWN_MS);
  await server.startPostgres();
  const backAtMs = now() - start;
  log(
    `  ${seconds(backAtMs)}: PostgreSQL is back (stopped in ${seconds(stoppedAtMs - downAtMs)}, down ${seconds(backAtMs - stoppedAtMs)})`,
  );
  return { downAtMs, stoppedAtMs, backAtMs };
}

/** The 503s around the outage, other 5xx, and the first success after the database's return. */
function reportRestart(result: LoadResult, marks: RestartMarks, verdict: Verdict): void {
  let count503 = 0;
  let outside503 = 0;
  let other5xx = 0;
  let recoveryMs: number | undefined;
  let last503: number | undefined;
  result.timeline.atMs.forEach((at, i) => {
    const code = result.timeline.status[i]!;
    if (code === 503) {
      count503++;
      last503 = at - marks.backAtMs;
      if (at < marks.downAtMs || at > marks.backAtMs + RECOVERY_LIMIT_MS) outside503++;
    } else if (code >= 500) other5xx++;
    else if (code < 400 && at >= marks.backAtMs) recoveryMs ??= at - marks.backAtMs;
  });
  const recovered = recoveryMs === undefined ? 'never' : `${Math.round(recoveryMs)} ms`;
  log('\n### Database restart\n');
  log(
    `- shutdown began at ${seconds(marks.downAtMs)}, done at ${seconds(marks.stoppedAtMs)}, back at ${seconds(marks.backAtMs)}`,
  );
  log(`- 503 responses: ${count503} (outside the outage and its ${RECOVERY_LIMIT_MS} ms grace: ${outside503})`);
  log(`- other 5xx: ${other5xx}`);
  log(
    `- recovery: ${recoveryMs === undefined ? 'no successful response after the database came back' : `first 2xx/3xx ${recovered} after the database was back`}`,
  );
  if (last503 !== undefined) log(`- last 503: ${Math.round(last503)} ms after the database was back`);
  check(verdict, count503 > 0, `the app answered 503 while the database was down (${count503})`);
  check(verdict, other5xx === 0, `no 5xx other than 503 (${other5xx})`);
  check(
    verdict,
    recoveryMs !== undefined && recoveryMs <= RECOVERY_LIMIT_MS,
    `served again within ${RECOVERY_LIMIT_MS} ms of the database's return (${recovered})`,
  );
  check(verdict, outside503 === 0, `no 503 before the outage or after its grace period (${outside503})`);
}

/** What went wrong, as far as the client and the app's log tell. */
function reportFailures(result: LoadResult, app: AppProcess): void {
  const all = figuresOf([...result.byKind.values()], 1);
  const unusual = statusList(all.statuses, (status) => status === 200 || status === 303);
  if (unusual) log(`- statuses other than 200/303: ${unusual}`);
  for (const [kind, label] of KINDS) {
    const codes = [...(result.byKind.get(kind)?.errorCodes ?? [])].map(([code, count]) => `${code} ×${count}`);
    if (codes.length > 0) log(`- connection errors during ${label}: ${codes.join(', ')}`);
  }
  if ([...result.byKind.values()].some((tally) => tally.errorCodes.has('ECONNRESET'))) {
    // Express's final handler destroys the socket of an error raised after the response was sent.
    log('  (a reset is counted on the request in flight: often the one after the request that failed)');
  }
  const levels = Object.entries(app.log.levels).map(([level, count]) => `${level} ${count}`);
  log(`- app log lines: ${levels.length > 0 ? levels.join(', ') : 'none'}`);
  const groups = [...app.log.errors].sort(([, a], [, b]) => b - a);
  for (const [message, count] of groups.slice(0, 12)) log(`  - ×${count} ${message}`);
  if (groups.length > 12) log(`  - … and ${groups.length - 12} more kinds of error`);
  for (const line of app.log.plain) log(`  - plain: ${line}`);
  if (result.serverErrors.length > 0) log('- 5xx other than 503, as the app logged them (by X-Request-Id):');
  for (const { kind, status, requestId } of result.serverErrors.slice(0, 10)) {
    const logged = requestId ? app.log.byRequestId.get(requestId) : undefined;
    const where = logged?.where ? ` at ${logged.where}` : '';
    log(
      logged
        ? `  - ${status} ${logged.method ?? ''} ${logged.url ?? ''} (${kind}): ${logged.error}${where}`
        : `  - ${status} (${kind}), request ${requestId ?? 'without id'}: not in the app's error log`,
    );
  }
}

/** posts_count exact, one new post per 303, no orphans. */
async function checkInvariants(
  url: string,
  result: LoadResult,
  postsBefore: number,
  restarted: boolean,
  verdict: Verdict,
): Promise<void> {
  const writes = figuresOf([result.byKind.get('write')], 1);
  const answered303 = writes.statuses.get(303) ?? 0;
  const consistency = await checkConsistency(url);
  const created = consistency.totalPosts - postsBefore;
  const mismatches = consistency.countMismatches.join('; ');
  check(
    verdict,
    consistency.countMismatchTotal === 0,
    `posts_count equals the user's posts for every user (${consistency.countMismatchTotal} differ${mismatches ? `: ${mismatches}` : ''})`,
  );
  if (created === answered303 || !restarted) {
    check(
      verdict,
      created === answered303,
      `posts created during the load = POST /posts answered 303 (${created} = ${answered303})`,
    );
  } else {
    // A write answered 5xx during the outage may have committed before the database went away.
    const unknown = writes.classes[3] + writes.errors + writes.timeouts;
    check(
      verdict,
      created >= answered303 && created <= answered303 + unknown,
      `posts created during the load (${created}) = 303s (${answered303}) + ${created - answered303} ` +
        `of the ${unknown} writes answered 5xx/error: committed, then the answer was lost with the database`,
    );
  }
  check(verdict, consistency.orphanPosts === 0, `no orphan posts (${consistency.orphanPosts})`);
}

async function run(cleanup: Cleanup, signal: AbortSignal): Promise<boolean> {
  let server: EmbeddedServer | undefined;
  let url = options.databaseUrl;
  if (url) {
    log('database: the one of --database-url (rows are added to it)');
  } else {
    server = await EmbeddedServer.start();
    const started = server;
    cleanup.add('stop PostgreSQL and remove its directory', () => started.dispose());
    url = server.url;
    log(`database: embedded PostgreSQL on 127.0.0.1:${server.port}, data in ${server.dataDir}`);
  }
  log(`migrating, seeding the demo data, then ${options.users} users and ${options.posts} posts…`);
  log(`  seeded in ${(await seedDatabase(url, options.users, options.posts)).toFixed(1)} s`);
  const { postIds, usernames } = await withClient(url, async (client) => ({
    postIds: (await client.query<{ id: number }>('SELECT id FROM posts WHERE published')).rows.map((row) => row.id),
    usernames: (await client.query<{ username: string }>('SELECT username FROM users')).rows.map((row) => row.username),
  }));
  log(`  database holds ${usernames.length} users and ${await countPosts(url)} posts (${postIds.length} published)`);

  log('starting the app (NODE_ENV=production)…');
  const app = await startApp(url, cleanup, {}, options.appLog);
  log(`  app pid ${app.pid} at ${app.origin}`);
  let stopping = false;
  cleanup.add('expect the app to stop', () => (stopping = true));
  const load = new AbortController();
  signal.addEventListener('abort', () => load.abort(), { once: true });
  void app.onExit().then((code) => {
    if (stopping || signal.aborted) return;
    console.error(`the app exited during the run (code ${code})`);
    load.abort();
  });

  const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
  const readPath = (): string => {
    const r = Math.random();
    if (r < 0.15) return '/';
    if (r < 0.35) return '/posts';
    if (r < 0.5) return `/posts?page=${2 + Math.floor(Math.random() * 9)}`;
    if (r < 0.85) return `/posts/${pick(postIds)}`;
    return `/users/${encodeURIComponent(pick(usernames))}`;
  };
  const read = { kind: 'read', method: 'GET', setupRequest: (request: object) => ({ ...request, path: readPath() }) };
  const [write, follow] = writeAndFollow('Load check post');
  const mix: LoadOptions = {
    origin: app.origin,
    connections: options.connections,
    durationS: options.duration,
    requests: [read, read, write, follow, read],
    expected: (kind, status) => status === (kind === 'write' ? 303 : 200),
    sessions: await logInUsers(app),
    drain: true,
    signal: load.signal,
  };
  log(`warming up ${WARM_UP_S} s…`);
  await runLoad({ ...mix, durationS: WARM_UP_S });
  const rssBefore = rssMiB(app.pid);
  const postsBefore = await countPosts(url);

  log(`loading ${options.duration} s at ${options.connections} connections…`);
  const start = now();
  let restart: Promise<RestartMarks | undefined> = Promise.resolve(undefined);
  if (options.restartDbAt !== undefined && server) {
    restart = restartDatabase(server, options.restartDbAt, start);
    // Should the restart fail, stop the load now rather than wait for its end.
    restart.catch(() => load.abort());
  }
  const result = await runLoad({ ...mix, onProgress: progress, progressEveryS: 5 });
  const marks = await restart;
  const rssAfter = rssMiB(app.pid);
  if (load.signal.aborted) throw new Error(`the load was interrupted:\n${app.tail().join('\n')}`);

  const total = figuresOf([...result.byKind.values()], result.windowMs);
  const restarted = marks ? `, PostgreSQL restarted at ${options.restartDbAt} s` : '';
  log(`\n## Load check: ${options.connections} connections, ${seconds(result.windowMs)}${restarted}\n`);
  const rows = KINDS.map(([kind, label]): [string, ReturnType<typeof figuresOf>] => [
    label,
    figuresOf([result.byKind.get(kind)], result.windowMs),
  ]);
  log(figuresTable([...rows, ['**total**', total]]).join('\n'));
  const writes = result.byKind.get('write')?.latenciesMs.length ?? 0;
  log(`\n- writes: ${((writes / Math.max(1, total.responses)) * 100).toFixed(1)} % of requests`);
  log(`- app RSS: ${mib(rssBefore)} MiB after the warm-up, ${mib(rssAfter)} MiB at the end`);
  reportFailures(result, app);

  const verdict: Verdict = { ok: true, lines: [] };
  if (marks) reportRestart(result, marks, verdict);
  else check(verdict, total.classes[3] === 0, `no 5xx (${total.classes[3]})`);
  check(
    verdict,
    total.errors + total.timeouts === 0,
    `no connection errors or timeouts (${total.errors} errors, ${total.timeouts} timeouts)`,
  );
  const answered303 = result.byKind.get('write')?.statuses.get(303) ?? 0;
  check(verdict, answered303 > 0, `writes succeeded (${answered303} POST /posts answered 303)`);
  await checkInvariants(url, result, postsBefore, marks !== undefined, verdict);
  log('\n### Checks\n');
  log(verdict.lines.join('\n'));
  log(`\nRESULT: ${verdict.ok ? 'PASS' : 'FAIL'}`);
  return verdict.ok;
}

runScript('load check', run);
