// Pages benchmark: `npm run bench`, or
//   SEED_USERS=10000 SEED_POSTS=200000 BENCH_DURATION=10 BENCH_CONNECTIONS=50 BENCH_ROUNDS=5 npm run bench
//
//   1. An embedded PostgreSQL in a temporary directory: migrated, the demo data (an admin
//      with a known password), then the volume seeder through the real sequelize-cli
//      (SEED_USERS users, default 10,000; SEED_POSTS posts, default 200,000).
//   2. The app (`src/server.ts`, NODE_ENV=production) and ../shared/bench/reference-server.mjs,
//      each a process of its own on a free loopback port.
//   3. Per scenario, a 2 s warm-up, then BENCH_DURATION s (10) of autocannon at
//      BENCH_CONNECTIONS (50): the first page of /posts, a page deep in it (?after=, 90 % in),
//      one post, the profile of the user with the most posts; then the searches of
//      bench/pages-search.ts at 10 connections, each looked at once first, then loaded in
//      turn for BENCH_SEARCH_ROUNDS rounds (3), the medians reported; then the comparison
//      of /posts with the reference (../shared/bench/compare.mjs, BENCH_ROUNDS rounds at 50
//      connections); last, logged-in POST /posts at 10 connections (writes change the list).
//   4. One Markdown report on stdout, saved as docs/benchmarks.md; progress goes to stderr.
//
// BENCH_ONLY=search runs step 3's searches alone (a million posts take long enough to seed)
// and replaces only its own size's search section of docs/benchmarks.md.
//
// Exit code 1 when any scenario had errors, timeouts or unexpected statuses, or the run
// failed; missed targets are reported, not a failure. Loopback only; every load is bounded.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type autocannon from 'autocannon';
import * as prettier from 'prettier';
import { DEMO_ADMIN_USERNAME } from '../src/db/demo.js';
import { AppProcess, FORWARDED_HEADERS } from './app.js';
import { EmbeddedServer } from './database.js';
import { type PageTargets, readPageTargets, seedDatabase } from './pages-database.js';
import { badAnswers, type KindFigures, runLoad, unexpectedStatuses } from './pages-load.js';
import { compare, type Comparison, ReferenceServer, REFERENCE_DIR, referenceToolsPresent } from './pages-reference.js';
import {
  renderReport,
  renderSearchSection,
  type ReportInput,
  type ScenarioResult,
  type SearchRow,
  type SearchSection,
  searchSectionsOf,
  withSearchSections,
} from './pages-report.js';
import { checkSearchPage, measureSearches, SEARCH_CONNECTIONS, SEARCHES, searchPath } from './pages-search.js';
import { logIn, type Session, writeAndFollow, writeOnce } from './sessions.js';
import { type Cleanup, rssMiB, runWithCleanup } from './support.js';

const ROOT = path.resolve(__dirname, '..');
const REPORT_FILE = path.join(ROOT, 'docs/benchmarks.md');
const WARM_UP_S = 2;
// The comparison is defined at 50 connections, whatever BENCH_CONNECTIONS says.
const COMPARE_CONNECTIONS = 50;
// People writing posts are far fewer than people reading them.
const WRITE_CONNECTIONS = 10;

const log = (message: string): void => void process.stderr.write(`${message}\n`);

interface Options {
  users: number;
  posts: number;
  durationS: number;
  connections: number;
  rounds: number;
  searchRounds: number;
  /** Run only this part of the benchmark. */
  only: 'search' | undefined;
}

function count(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max.toLocaleString('en-US')}, got "${raw}"`);
  }
  return value;
}

function readOptions(env: NodeJS.ProcessEnv): Options {
  return {
    users: count(env, 'SEED_USERS', 10_000, 1, 1_000_000),
    posts: count(env, 'SEED_POSTS', 200_000, 100, 50_000_000),
    durationS: count(env, 'BENCH_DURATION', 10, 1, 600),
    connections: count(env, 'BENCH_CONNECTIONS', 50, 1, 1000),
    rounds: count(env, 'BENCH_ROUNDS', 5, 1, 25),
    searchRounds: count(env, 'BENCH_SEARCH_ROUNDS', 3, 1, 25),
    only: only(env),
  };
}

function only(env: NodeJS.ProcessEnv): Options['only'] {
  const raw = env.BENCH_ONLY?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (raw !== 'search') throw new Error(`BENCH_ONLY must be "search" (the searches alone), got "${raw}"`);
  return raw;
}

const is2xx = (status: number): boolean => status >= 200 && status < 300;

/** What went wrong in some kinds of request, e.g. "404 ×120, 3 timeouts". */
function problems(
  parts: { label: string; figures: KindFigures | undefined; expected: (s: number) => boolean }[],
): string {
  const described = parts.flatMap(({ label, figures, expected }) => {
    if (!figures || badAnswers(figures) === 0) return [];
    const items = [
      unexpectedStatuses(figures, expected),
      figures.errors ? `${figures.errors} connection errors` : '',
      figures.timeouts ? `${figures.timeouts} timeouts` : '',
    ].filter(Boolean);
    return [`${label}${items.join(', ')}`];
  });
  return described.join('; ');
}

async function readScenario(
  app: AppProcess,
  label: string,
  requestPath: string,
  options: Pick<Options, 'connections' | 'durationS'>,
  signal: AbortSignal,
): Promise<ScenarioResult> {
  log(`${label}: GET ${requestPath}, ${options.connections} connections, ${WARM_UP_S} s + ${options.durationS} s…`);
  const load = {
    origin: app.origin,
    connections: options.connections,
    requests: [{ kind: 'read', method: 'GET', path: requestPath }],
    expected: (_kind: string, status: number) => is2xx(status),
    signal,
  };
  await runLoad({ ...load, durationS: WARM_UP_S });
  const figures = (await runLoad({ ...load, durationS: options.durationS })).get('read');
  // Connection errors by the thousand mean the app is gone: say so rather than go on.
  if (!app.running) {
    throw new Error(`the app exited (code ${await app.onExit()}) during “${label}”:\n${app.tail(10).join('\n')}`);
  }
  const result: ScenarioResult = {
    label,
    method: 'GET',
    path: requestPath,
    connections: options.connections,
    figures,
    bad: badAnswers(figures),
    problems: problems([{ label: '', figures, expected: is2xx }]),
    rssMiB: rssMiB(app.pid),
  };
  log(
    `  ${Math.round(figures?.perSecond ?? 0)} req/s, p99 ${Math.round(figures?.p99Ms ?? NaN)} ms, errors ${result.bad}`,
  );
  return result;
}

async function writeScenario(app: AppProcess, options: Options, signal: AbortSignal): Promise<ScenarioResult> {
  const label = 'publish a post, logged in';
  log(`${label}: logging in ${WRITE_CONNECTIONS} sessions of ${DEMO_ADMIN_USERNAME}…`);
  const sessions: Session[] = [];
  for (let i = 0; i < WRITE_CONNECTIONS; i++) sessions.push(await logIn(app.origin, DEMO_ADMIN_USERNAME));
  await writeOnce(app.origin, sessions[0]!);
  log(`${label}: POST /posts, ${WRITE_CONNECTIONS} connections, ${WARM_UP_S} s + ${options.durationS} s…`);
  const expected = (kind: string, status: number): boolean => status === (kind === 'write' ? 303 : 200);
  const load = {
    origin: app.origin,
    connections: WRITE_CONNECTIONS,
    requests: writeAndFollow('Benchmark post'),
    expected,
    setupClient: (client: autocannon.Client, index: number) => {
      const session = sessions[index % sessions.length];
      client.requestIterator.initialContext = { session };
      client.requestIterator.context = { session };
    },
    signal,
  };
  await runLoad({ ...load, durationS: WARM_UP_S });
  const measured = await runLoad({ ...load, durationS: options.durationS });
  const [write, follow] = [measured.get('write'), measured.get('follow')];
  const result: ScenarioResult = {
    label,
    method: 'POST',
    path: '/posts',
    connections: WRITE_CONNECTIONS,
    figures: write,
    bad: badAnswers(write) + badAnswers(follow),
    problems: problems([
      { label: 'POST: ', figures: write, expected: (status) => status === 303 },
      { label: 'GET of the new post: ', figures: follow, expected: (status) => status === 200 },
    ]),
    rssMiB: rssMiB(app.pid),
  };
  log(
    `  ${Math.round(write?.perSecond ?? 0)} posts/s, p99 ${Math.round(write?.p99Ms ?? NaN)} ms, errors ${result.bad}`,
  );
  return result;
}

/** One look at the deep page before the load: does it list the posts after its cursor? */
async function checkDeepPage(
  origin: string,
  deepPath: string,
  targets: PageTargets,
): Promise<ReportInput['deepCheck']> {
  const res = await fetch(origin + deepPath, { redirect: 'manual', headers: FORWARDED_HEADERS });
  const html = await res.text();
  if (!is2xx(res.status)) return { ok: false, text: `\`GET ${deepPath}\` answered ${res.status}` };
  if (targets.deepFirstId === undefined || html.includes(`href="/posts/${targets.deepFirstId}"`)) {
    return { ok: true, text: 'it listed the posts after its cursor' };
  }
  if (html.includes(`href="/posts/${targets.newestId}"`)) {
    return { ok: false, text: '`?after=` answered with the first page (keyset pagination not in place yet?)' };
  }
  return { ok: false, text: `it did not list post ${targets.deepFirstId}, the one after its cursor` };
}

async function startApp(
  url: string,
  cleanup: Cleanup,
  env: NodeJS.ProcessEnv = {},
): Promise<{ app: AppProcess; logPath: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'users-and-posts-bench-app-'));
  cleanup.add('remove the app data directory', () => fs.rmSync(dataDir, { recursive: true, force: true }));
  const logPath = path.join(dataDir, 'app.log');
  const app = await AppProcess.launch(url, dataDir, logPath, env);
  cleanup.add('stop the app', async () => {
    const code = await app.stop();
    if (code !== 0) log(`the app exited with code ${code}:\n${app.tail(5).join('\n')}`);
  });
  await app.waitUntilHealthy();
  return { app, logPath };
}

async function format(markdown: string): Promise<string> {
  const config = await prettier.resolveConfig(REPORT_FILE);
  return prettier.format(markdown, { ...config, filepath: REPORT_FILE });
}

/** The app's warnings and errors (it logs nothing below), by level and message. */
function appLogSummary(logPath: string): string {
  const groups = new Map<string, { count: number; maxMs: number | undefined }>();
  for (const line of fs.readFileSync(logPath, 'utf8').split('\n')) {
    let entry: { level?: number; msg?: string; durationMs?: number };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    const key = `${(entry.level ?? 0) >= 50 ? 'error' : 'warning'} “${entry.msg ?? '(no message)'}”`;
    const group = groups.get(key) ?? { count: 0, maxMs: undefined };
    group.count++;
    if (typeof entry.durationMs === 'number') group.maxMs = Math.max(group.maxMs ?? 0, entry.durationMs);
    groups.set(key, group);
  }
  if (groups.size === 0) return 'no warning and no error';
  return [...groups]
    .sort(([, a], [, b]) => b.count - a.count)
    .map(
      ([key, { count, maxMs }]) => `${key} ×${count}${maxMs === undefined ? '' : ` (up to ${Math.round(maxMs)} ms)`}`,
    )
    .join(', ');
}

/**
 * The searches, each looked at once, then loaded at SEARCH_CONNECTIONS, in turn, for
 * BENCH_SEARCH_ROUNDS rounds: a noisy moment of the machine then spoils one round of each
 * search rather than every round of one.
 */
async function searchScenarios(
  app: AppProcess,
  url: string,
  options: Options,
  signal: AbortSignal,
): Promise<SearchRow[]> {
  log('counting the posts each search matches…');
  const measures = await measureSearches(url, SEARCHES);
  const rows: SearchRow[] = [];
  for (const [i, search] of SEARCHES.entries()) {
    const measure = measures[i]!;
    const check = await checkSearchPage(app.origin, search, measure);
    if (!check.ok) log(`  ${search.label}: ${check.text}`);
    rows.push({ search, measure, check, rounds: [] });
  }
  for (let round = 1; round <= options.searchRounds; round++) {
    for (const row of rows) {
      const label = `search, round ${round} of ${options.searchRounds}: ${row.search.label}`;
      const load = { connections: SEARCH_CONNECTIONS, durationS: options.durationS };
      row.rounds.push(await readScenario(app, label, searchPath(row.search), load, signal));
    }
  }
  return rows;
}

function commandOf(options: Options): string {
  const env = [
    options.only ? `BENCH_ONLY=${options.only}` : '',
    options.users !== 10_000 ? `SEED_USERS=${options.users}` : '',
    options.posts !== 200_000 ? `SEED_POSTS=${options.posts}` : '',
    options.durationS !== 10 ? `BENCH_DURATION=${options.durationS}` : '',
    options.searchRounds !== 3 ? `BENCH_SEARCH_ROUNDS=${options.searchRounds}` : '',
  ].filter(Boolean);
  return [...env, 'npm run bench'].join(' ');
}

function searchSection(
  startedAt: Date,
  options: Options,
  targets: PageTargets,
  rows: SearchRow[],
  appLog?: string,
): SearchSection {
  return {
    startedAt,
    command: commandOf(options),
    durationS: options.durationS,
    warmUpS: WARM_UP_S,
    rounds: options.searchRounds,
    targets,
    rows,
    appLog,
  };
}

/** The search sections already in the report file, bar the one of this size. */
function otherSearchSections(posts: number): Map<number, string> {
  const existing = fs.existsSync(REPORT_FILE) ? fs.readFileSync(REPORT_FILE, 'utf8') : '';
  const sections = searchSectionsOf(existing);
  sections.delete(posts);
  return sections;
}

async function save(report: string): Promise<void> {
  const formatted = await format(report);
  process.stdout.write(`\n${formatted}`);
  fs.mkdirSync(path.dirname(REPORT_FILE), { recursive: true });
  fs.writeFileSync(REPORT_FILE, formatted);
  log(`\nsaved as ${path.relative(ROOT, REPORT_FILE)}`);
}

/** BENCH_ONLY=search: the searches alone, their section put into the report file. */
async function runSearchesOnly(options: Options, cleanup: Cleanup, signal: AbortSignal): Promise<boolean> {
  const startedAt = new Date();
  const { server } = await startDatabase(options, cleanup);
  const targets = await readPageTargets(server.url);
  log(`database: ${targets.users} users, ${targets.posts} posts (${targets.published} published)`);
  const { app, logPath } = await startApp(server.url, cleanup, { PAGE_CACHE_MS: '0' });
  log(`app at ${app.origin} (pid ${app.pid}), every request rendered`);
  const rows = await searchScenarios(app, server.url, options, signal);
  const section = renderSearchSection(searchSection(startedAt, options, targets, rows, appLogSummary(logPath)));
  const existing = fs.existsSync(REPORT_FILE) ? fs.readFileSync(REPORT_FILE, 'utf8') : '# Benchmarks\n\n';
  const sections = searchSectionsOf(existing);
  sections.set(targets.posts, section);
  await save(withSearchSections(existing, sections));
  return rows.every((row) => row.rounds.every((round) => round.bad === 0));
}

/** An embedded PostgreSQL, seeded; and the seconds the volume seeder took. */
async function startDatabase(
  options: Options,
  cleanup: Cleanup,
): Promise<{ server: EmbeddedServer; seedSeconds: number }> {
  log('starting an embedded PostgreSQL…');
  const server = await EmbeddedServer.start();
  cleanup.add('stop PostgreSQL and remove its directory', () => server.dispose());
  log(`migrating, seeding the demo data, then ${options.users} users and ${options.posts} posts…`);
  return { server, seedSeconds: await seedDatabase(server.url, options.users, options.posts) };
}

async function run(options: Options, cleanup: Cleanup, signal: AbortSignal): Promise<boolean> {
  const startedAt = new Date();
  const { server, seedSeconds } = await startDatabase(options, cleanup);
  const targets = await readPageTargets(server.url);
  log(`database: ${targets.users} users, ${targets.posts} posts (${targets.published} published)`);

  // Two processes of the app: one as deployed (PAGE_CACHE_MS at its production default),
  // and one that renders every request, for what each page really costs.
  log('starting the app twice (NODE_ENV=production; with its page cache, and without)…');
  const { app, logPath } = await startApp(server.url, cleanup, { PAGE_CACHE_MS: '0' });
  const { app: cachedApp } = await startApp(server.url, cleanup);
  let reference: ReferenceServer | undefined;
  if (referenceToolsPresent()) {
    reference = await ReferenceServer.launch(server.url);
    const started = reference;
    cleanup.add('stop the reference server', () => started.stop());
    await reference.waitUntilReady();
  }
  log(`app at ${app.origin} (pid ${app.pid})${reference ? `, reference at ${reference.origin}` : ''}`);

  const deepPath = `/posts?after=${targets.deepCursor}`;
  const deepCheck = await checkDeepPage(app.origin, deepPath, targets);
  const deepShare = Math.round((100 * targets.deepOffset) / targets.published);
  const profile = `/users/${encodeURIComponent(targets.heavyUser.username)}`;
  const scenarios: ScenarioResult[] = [];
  for (const [label, requestPath] of [
    ['first page of posts', '/posts'],
    [`deep page of posts (${deepShare} % in)`, deepPath],
    ['one post', `/posts/${targets.postId}`],
    [`profile of the user with the most posts (${targets.heavyUser.postsCount})`, profile],
  ] as const) {
    scenarios.push(await readScenario(app, label, requestPath, options, signal));
  }
  // Before the writes, which add posts the searches would find.
  const searchRows = await searchScenarios(app, server.url, options, signal);

  const compareWith = async (origin: string, what: string): Promise<Comparison | { skipped: string }> => {
    if (!reference) return { skipped: `the reference tools are not in ${REFERENCE_DIR}` };
    const seconds = (options.rounds + 1) * 2 * options.durationS;
    log(`comparing GET /posts (${what}) with the reference: ${options.rounds} rounds, about ${seconds} s…`);
    const result = await compare(
      `${origin}/posts`,
      `${reference.origin}/posts`,
      { rounds: options.rounds, seconds: options.durationS, connections: COMPARE_CONNECTIONS },
      (stop) => cleanup.add('stop compare.mjs', stop),
    );
    if (signal.aborted) throw new Error('interrupted');
    log(result.output.trim());
    return result;
  };
  const comparison = await compareWith(cachedApp.origin, 'as deployed');
  const uncachedComparison = await compareWith(app.origin, 'every request rendered');

  // Last: the new posts change the list the other scenarios read.
  scenarios.push(await writeScenario(app, options, signal));

  const errorGroups = [...app.logs.errors].sort(([, a], [, b]) => b - a).slice(0, 5);
  const notes = [
    `deep page: \`after\` is the cursor (published_at in µs, then id) of published post ${targets.deepOffset.toLocaleString('en-US')} ` +
      `of ${targets.published.toLocaleString('en-US')}, newest first; checked once before the load: ${deepCheck.text}.`,
    `publish a post: ${WRITE_CONNECTIONS} connections, each a session of the demo admin that posts the form ` +
      '(title, body, published, CSRF token) and then, as a browser does, follows the 303 to the new post; ' +
      'the row shows the POSTs alone. Run last, after the comparison, as it adds posts to the list.',
    ...errorGroups.map(([message, n]) => `app error ×${n}: ${message}`),
  ];
  const report = renderReport({
    startedAt,
    durationS: options.durationS,
    warmUpS: WARM_UP_S,
    rounds: options.rounds,
    compareConnections: COMPARE_CONNECTIONS,
    seedSeconds,
    targets,
    scenarios,
    deepCheck,
    notes,
    comparison,
    uncachedComparison,
    appLog: appLogSummary(logPath),
    search: searchSection(startedAt, options, targets, searchRows),
  });
  const sections = otherSearchSections(targets.posts);
  // The section just rendered, as the file will hold it, among those of other sizes.
  sections.set(targets.posts, searchSectionsOf(report).get(targets.posts)!);
  await save(withSearchSections(report, sections));

  const compareBad = [comparison, uncachedComparison].some((result) => !('skipped' in result) && result.exitCode !== 0);
  const bad = [...scenarios, ...searchRows.flatMap((row) => row.rounds)].some((scenario) => scenario.bad > 0);
  return !bad && !compareBad;
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = readOptions(process.env);
  } catch (error) {
    log(error instanceof Error ? error.message : String(error));
    return 2;
  }
  const part = options.only === 'search' ? runSearchesOnly : run;
  return runWithCleanup('benchmark', (cleanup, signal) => part(options, cleanup, signal));
}

void main().then((code) => process.exit(code));
