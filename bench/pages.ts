// Pages benchmark: the app's pages under a bounded autocannon load on loopback, side by side
// with ../shared/bench/reference-server.mjs; one Markdown report on stdout, saved as
// docs/benchmarks.md (progress on stderr). Exit code 1 when any scenario had errors, timeouts
// or unexpected statuses; missed targets are reported, not a failure.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEMO_ADMIN_USERNAME } from '../src/db/demo.js';
import {
  type AppProcess,
  compare,
  type Comparison,
  FORWARDED_HEADERS,
  REFERENCE_DIR,
  referenceToolsPresent,
  startApp,
  startReference,
} from './app.js';
import { EmbeddedServer, type PageTargets, readPageTargets, seedDatabase } from './database.js';
import { figuresOf, logIn, runLoad, type Session, writeAndFollow, writeOnce } from './driver.js';
import { readOptions, sizes } from './options.js';
import {
  checkSearchPage,
  measureSearches,
  renderSearchSection,
  type Scenario,
  SEARCH_CONNECTIONS,
  SEARCH_P99_TARGET_MS,
  SEARCHES,
  type SearchRow,
  type SearchSection,
  searchPath,
  searchSectionsOf,
  searchVerdict,
  withSearchSections,
} from './pages-search.js';
import { int, mib, ms, saveMarkdown, statusList, table } from './report.js';
import { type Cleanup, log, ROOT, rssMiB, runScript } from './support.js';

const REPORT_FILE = 'docs/benchmarks.md';
const WARM_UP_S = 2;
// The comparison is defined at 50 connections, whatever --connections says.
const COMPARE_CONNECTIONS = 50;
// People writing posts are far fewer than people reading them.
const WRITE_CONNECTIONS = 10;
// The targets the pages are held to.
const REFERENCE_TARGET = 0.7;
const DEEP_TARGET = 1.5;

const options = readOptions(
  `Usage: npm run bench -- [options]

An embedded PostgreSQL with the demo and volume data; the app (production mode) and the
reference server; per scenario a ${WARM_UP_S} s warm-up, then --duration s of autocannon: the first
page of /posts, a deep page, one post, the busiest profile; the searches at ${SEARCH_CONNECTIONS}
connections, --search-rounds rounds; GET /posts against the reference (compare.mjs, --rounds
rounds at ${COMPARE_CONNECTIONS} connections); last, logged-in POST /posts at ${WRITE_CONNECTIONS} connections.
--only search runs the searches alone and replaces only their section of ${REPORT_FILE}.`,
  {
    ...sizes(10_000, 200_000),
    duration: { env: 'BENCH_DURATION', help: 'seconds per scenario', min: 1, max: 600, fallback: 10 },
    connections: {
      env: 'BENCH_CONNECTIONS',
      help: 'connections of the page scenarios',
      min: 1,
      max: 1000,
      fallback: 50,
    },
    rounds: { env: 'BENCH_ROUNDS', help: 'rounds of the comparison', min: 1, max: 25, fallback: 5 },
    searchRounds: { env: 'BENCH_SEARCH_ROUNDS', help: 'rounds of the searches', min: 1, max: 25, fallback: 3 },
    only: { env: 'BENCH_ONLY', help: 'run only this part: search', choices: ['search'] },
  },
);

const is2xx = (status: number): boolean => status >= 200 && status < 300;

/** What went wrong, e.g. "POST: 500 ×2, 3 timeouts". */
function problems(parts: [string, ReturnType<typeof figuresOf>, (status: number) => boolean][]): string {
  return parts
    .filter(([, f]) => f.bad > 0)
    .map(([label, f, keep]) => {
      const items = [
        statusList(f.statuses, keep),
        f.errors ? `${f.errors} connection errors` : '',
        f.timeouts ? `${f.timeouts} timeouts` : '',
      ];
      return label + items.filter(Boolean).join(', ');
    })
    .join('; ');
}

async function readScenario(
  app: AppProcess,
  label: string,
  request: string,
  connections: number,
  signal: AbortSignal,
): Promise<Scenario> {
  log(`${label}: GET ${request}, ${connections} connections, ${WARM_UP_S} s + ${options.duration} s…`);
  const load = {
    origin: app.origin,
    connections,
    requests: [{ kind: 'read', method: 'GET', path: request }],
    expected: (_: string, status: number) => is2xx(status),
    signal,
  };
  await runLoad({ ...load, durationS: WARM_UP_S });
  const measured = await runLoad({ ...load, durationS: options.duration });
  if (signal.aborted) throw new Error('the load was interrupted');
  // Connection errors by the thousand mean the app is gone: say so rather than go on.
  if (!app.running)
    throw new Error(`the app exited (code ${await app.onExit()}) during “${label}”:\n${app.tail(10).join('\n')}`);
  const figures = figuresOf([measured.byKind.get('read')], measured.windowMs);
  log(`  ${Math.round(figures.perSecond)} req/s, p99 ${Math.round(figures.p99Ms)} ms, errors ${figures.bad}`);
  return {
    label,
    request: `GET ${request}`,
    connections,
    figures,
    problems: problems([['', figures, is2xx]]),
    rssMiB: rssMiB(app.pid),
  };
}

async function writeScenario(app: AppProcess, signal: AbortSignal): Promise<Scenario> {
  const label = 'publish a post, logged in';
  log(`${label}: logging in ${WRITE_CONNECTIONS} sessions of ${DEMO_ADMIN_USERNAME}…`);
  const sessions: Session[] = [];
  for (let i = 0; i < WRITE_CONNECTIONS; i++) sessions.push(await logIn(app.origin, DEMO_ADMIN_USERNAME));
  await writeOnce(app.origin, sessions[0]!);
  log(`${label}: POST /posts, ${WRITE_CONNECTIONS} connections, ${WARM_UP_S} s + ${options.duration} s…`);
  const expected = (kind: string, status: number): boolean => status === (kind === 'write' ? 303 : 200);
  const load = {
    origin: app.origin,
    connections: WRITE_CONNECTIONS,
    requests: writeAndFollow('Benchmark post'),
    expected,
    sessions,
    signal,
  };
  await runLoad({ ...load, durationS: WARM_UP_S });
  const measured = await runLoad({ ...load, durationS: options.duration });
  const write = figuresOf([measured.byKind.get('write')], measured.windowMs);
  const follow = figuresOf([measured.byKind.get('follow')], measured.windowMs);
  log(`  ${Math.round(write.perSecond)} posts/s, p99 ${Math.round(write.p99Ms)} ms, errors ${write.bad + follow.bad}`);
  return {
    label,
    request: 'POST /posts',
    connections: WRITE_CONNECTIONS,
    figures: { ...write, bad: write.bad + follow.bad },
    problems: problems([
      ['POST: ', write, (s) => s === 303],
      ['GET of the new post: ', follow, (s) => s === 200],
    ]),
    rssMiB: rssMiB(app.pid),
  };
}

/** One look at the deep page before the load: does it list the posts after its cursor? */
async function checkDeepPage(
  origin: string,
  deepPath: string,
  targets: PageTargets,
): Promise<{ ok: boolean; text: string }> {
  const res = await fetch(origin + deepPath, { redirect: 'manual', headers: FORWARDED_HEADERS });
  const html = await res.text();
  if (!is2xx(res.status)) return { ok: false, text: `\`GET ${deepPath}\` answered ${res.status}` };
  if (targets.deepFirstId === undefined || html.includes(`href="/posts/${targets.deepFirstId}"`))
    return { ok: true, text: 'it listed the posts after its cursor' };
  if (html.includes(`href="/posts/${targets.newestId}"`))
    return { ok: false, text: '`?after=` answered with the first page (keyset pagination not in place yet?)' };
  return { ok: false, text: `it did not list post ${targets.deepFirstId}, the one after its cursor` };
}

/** Each search looked at once, then all loaded in turn per round: a noisy moment spoils one round of each, not every round of one. */
async function searchSection(
  app: AppProcess,
  url: string,
  startedAt: Date,
  targets: PageTargets,
  signal: AbortSignal,
): Promise<SearchSection> {
  log('counting the posts each search matches…');
  const measures = await measureSearches(url);
  const rows: SearchRow[] = [];
  for (const [i, search] of SEARCHES.entries()) {
    const check = await checkSearchPage(app.origin, search, measures[i]!);
    if (!check.ok) log(`  ${search.label}: ${check.text}`);
    rows.push({ search, measure: measures[i]!, check, rounds: [] });
  }
  for (let round = 1; round <= options.searchRounds; round++) {
    for (const row of rows) {
      const label = `search, round ${round} of ${options.searchRounds}: ${row.search.label}`;
      row.rounds.push(await readScenario(app, label, searchPath(row.search), SEARCH_CONNECTIONS, signal));
    }
  }
  const defaults = { users: 10_000, posts: 200_000, duration: 10, searchRounds: 3 };
  const env = [
    options.only ? `BENCH_ONLY=${options.only}` : '',
    options.users !== defaults.users ? `SEED_USERS=${options.users}` : '',
    options.posts !== defaults.posts ? `SEED_POSTS=${options.posts}` : '',
    options.duration !== defaults.duration ? `BENCH_DURATION=${options.duration}` : '',
    options.searchRounds !== defaults.searchRounds ? `BENCH_SEARCH_ROUNDS=${options.searchRounds}` : '',
  ].filter(Boolean);
  const command = [...env, 'npm run bench'].join(' ');
  return {
    startedAt,
    command,
    durationS: options.duration,
    warmUpS: WARM_UP_S,
    rounds: options.searchRounds,
    targets,
    rows,
  };
}

const searchesOk = (section: SearchSection): boolean =>
  section.rows.every((row) => row.rounds.every((r) => r.figures.bad === 0));

async function save(report: string): Promise<void> {
  process.stdout.write(`\n${await saveMarkdown(REPORT_FILE, report)}`);
}

function referenceVerdict(comparison: Comparison | string): string {
  if (typeof comparison === 'string') return `not measured: ${comparison}`;
  if (comparison.median === undefined)
    return `not measured: compare.mjs printed no ratio (exit code ${comparison.exitCode})`;
  const ratio = `${comparison.median.toFixed(2)}× the reference's requests/s (target ≥ ${REFERENCE_TARGET}×)`;
  if (comparison.warning) return `MISSED (void): ${ratio}, but ${comparison.warning}`;
  return comparison.median >= REFERENCE_TARGET ? `MET: ${ratio}, with zero errors` : `MISSED: ${ratio}`;
}

function deepVerdict(scenarios: Scenario[], deepCheck: { ok: boolean; text: string }): string {
  const [first, deep] = [scenarios[0]!.figures, scenarios[1]!.figures];
  if (!deepCheck.ok) return `not measured: ${deepCheck.text}`;
  if (first.bad + deep.bad > 0) return 'not measured: the first or the deep page had bad answers';
  const ratio = Math.max(first.perSecond, deep.perSecond) / Math.max(1e-9, Math.min(first.perSecond, deep.perSecond));
  const text = `first page ${int(first.perSecond)} req/s, deep page ${int(deep.perSecond)} req/s: ${ratio.toFixed(2)}× apart (target ≤ ${DEEP_TARGET}×)`;
  return ratio <= DEEP_TARGET ? `MET: ${text}` : `MISSED: ${text}`;
}

function comparisonSection(comparison: Comparison | string, title: string, app: string): string[] {
  const lines = [`## ${title}`, ''];
  if (typeof comparison === 'string') return [...lines, `Not run: ${comparison}.`, ''];
  lines.push(
    `\`../shared/bench/compare.mjs\`, A = ${app}, B = \`../shared/bench/reference-server.mjs\` ` +
      `(the latest 20 published posts by one raw query and one cached template, the same pool size) on the same ` +
      `database: ${options.rounds} alternating round${options.rounds === 1 ? '' : 's'} of ${options.duration} s at ${COMPARE_CONNECTIONS} ` +
      `connections after one warm-up each.`,
    '',
  );
  if (comparison.table) lines.push('```text', comparison.table, '```', '');
  else lines.push('compare.mjs printed no table; its last output:', '', '```text', comparison.output.trim(), '```', '');
  if (comparison.median !== undefined) {
    lines.push(
      `Median A/B requests per second: **${comparison.median.toFixed(2)}** (rounds: ${comparison.rounds.map((r) => r.toFixed(2)).join(', ')}).`,
      '',
    );
  }
  if (comparison.warning) lines.push(`compare.mjs: ${comparison.warning}`, '');
  return lines;
}

async function run(cleanup: Cleanup, signal: AbortSignal): Promise<boolean> {
  const startedAt = new Date();
  log('starting an embedded PostgreSQL…');
  const server = await EmbeddedServer.start();
  cleanup.add('stop PostgreSQL and remove its directory', () => server.dispose());
  log(`migrating, seeding the demo data, then ${options.users} users and ${options.posts} posts…`);
  const seedSeconds = await seedDatabase(server.url, options.users, options.posts);
  const targets = await readPageTargets(server.url);
  log(`database: ${targets.users} users, ${targets.posts} posts (${targets.published} published)`);
  // One app renders every request, for what each page really costs.
  const app = await startApp(server.url, cleanup, { PAGE_CACHE_MS: '0' });
  log(`app at ${app.origin} (pid ${app.pid}), every request rendered`);

  if (options.only === 'search') {
    const section = await searchSection(app, server.url, startedAt, targets, signal);
    const existing = fs.existsSync(path.join(ROOT, REPORT_FILE))
      ? fs.readFileSync(path.join(ROOT, REPORT_FILE), 'utf8')
      : '# Benchmarks\n\n';
    const sections = searchSectionsOf(existing);
    sections.set(targets.posts, renderSearchSection({ ...section, appLog: app.log.summary() }));
    await save(withSearchSections(existing, sections));
    return searchesOk(section);
  }

  // The other app as deployed, with its page cache at the production default.
  const cachedApp = await startApp(server.url, cleanup);
  const reference = referenceToolsPresent() ? await startReference(server.url, cleanup) : undefined;
  log(`second app at ${cachedApp.origin}${reference ? `, reference at ${reference.origin}` : ''}`);

  const deepPath = `/posts?after=${targets.deepCursor}`;
  const deepCheck = await checkDeepPage(app.origin, deepPath, targets);
  const deepShare = Math.round((100 * targets.deepOffset) / targets.published);
  const profile = `/users/${encodeURIComponent(targets.heavyUser.username)}`;
  const scenarios: Scenario[] = [];
  for (const [label, request] of [
    ['first page of posts', '/posts'],
    [`deep page of posts (${deepShare} % in)`, deepPath],
    ['one post', `/posts/${targets.postId}`],
    [`profile of the user with the most posts (${targets.heavyUser.postsCount})`, profile],
  ] as const) {
    scenarios.push(await readScenario(app, label, request, options.connections, signal));
  }
  // Before the writes, which add posts the searches would find.
  const search = await searchSection(app, server.url, startedAt, targets, signal);

  const compareWith = async (origin: string, what: string): Promise<Comparison | string> => {
    if (!reference) return `the reference tools are not in ${REFERENCE_DIR}`;
    log(
      `comparing GET /posts (${what}) with the reference: ${options.rounds} rounds, about ${(options.rounds + 1) * 2 * options.duration} s…`,
    );
    const result = await compare(
      `${origin}/posts`,
      `${reference.origin}/posts`,
      options.rounds,
      options.duration,
      COMPARE_CONNECTIONS,
      cleanup,
    );
    if (signal.aborted) throw new Error('interrupted');
    log(result.output.trim());
    return result;
  };
  const comparison = await compareWith(cachedApp.origin, 'as deployed');
  const uncached = await compareWith(app.origin, 'every request rendered');
  // Last: the new posts change the list the other scenarios read.
  scenarios.push(await writeScenario(app, signal));

  const cpus = os.cpus();
  const when = startedAt.toISOString().replace('T', ' ').slice(0, 16);
  const bad = [...scenarios, ...search.rows.flatMap((row) => row.rounds)].reduce((n, s) => n + s.figures.bad, 0);
  const errorGroups = [...app.log.errors].sort(([, a], [, b]) => b - a).slice(0, 5);
  const rows = scenarios.map((s) => {
    const f = s.figures;
    const errors = f.bad === 0 ? '0' : `**${int(f.bad)}** (${s.problems})`;
    return [
      s.label,
      `\`${s.request}\``,
      String(s.connections),
      int(f.responses),
      int(f.perSecond),
      ms(f.p50Ms),
      ms(f.p99Ms),
      errors,
      mib(s.rssMiB),
    ];
  });
  const report = [
    '# Benchmarks',
    '',
    `Page speed of the app under a bounded load on loopback, measured by \`npm run bench\` on ${when} UTC. ` +
      'Generated file: run the benchmark again rather than edit it.',
    '',
    `- machine: ${cpus[0]?.model.trim() ?? 'unknown CPU'} × ${cpus.length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB of memory, ${os.type()} ${os.release()}`,
    `- Node.js ${process.version}; ${targets.postgresVersion} (embedded, in a temporary directory)`,
    `- data: ${int(targets.users)} users, ${int(targets.posts)} posts (${int(targets.published)} published): ` +
      `the demo data and the volume seeder (${int(seedSeconds)} s through sequelize-cli)`,
    '- the app: `src/server.ts` with `NODE_ENV=production`, a pool of 10 connections, behind one trusted proxy ' +
      '(`X-Forwarded-Proto: https`), logging warnings and errors only',
    `- load: autocannon on 127.0.0.1, a ${WARM_UP_S} s warm-up not counted, then ${options.duration} s per scenario`,
    '',
    'The machine is shared and noisy (±40 % between identical runs): the absolute figures below move from run ' +
      'to run; the ratios measured side by side in one run are what to compare.',
    '',
    '## Pages',
    '',
    'Every request rendered (`PAGE_CACHE_MS=0`): what each page costs, not how often a cache spares it.',
    '',
    ...table(
      ['scenario', 'request', 'connections', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'app RSS MiB'],
      'llrrrrrrr',
      rows,
    ),
    '',
    '- req/s: responses per second over the scenario; p50 and p99: latency of every response, whatever its status; ' +
      'errors: connection errors, timeouts (10 s) and answers other than 2xx (for `POST /posts`, other than 303); ' +
      'app RSS: the resident memory of the app process after the scenario.',
    `- deep page: \`after\` is the cursor (published_at in µs, then id) of published post ${int(targets.deepOffset)} ` +
      `of ${int(targets.published)}, newest first; checked once before the load: ${deepCheck.text}.`,
    `- publish a post: ${WRITE_CONNECTIONS} connections, each a session of the demo admin that posts the form ` +
      '(title, body, published, CSRF token) and then, as a browser does, follows the 303 to the new post; ' +
      'the row shows the POSTs alone. Run last, after the comparison, as it adds posts to the list.',
    ...errorGroups.map(([message, n]) => `- app error ×${n}: ${message}`),
    `- the app logged: ${app.log.summary()}.`,
    '',
    renderSearchSection(search),
    ...comparisonSection(
      comparison,
      '`GET /posts` against the reference, as deployed',
      "the app's `GET /posts` with its production settings (anonymous pages reused for `PAGE_CACHE_MS`, 1 s)",
    ),
    ...comparisonSection(
      uncached,
      '`GET /posts` against the reference, every request rendered',
      "the app's `GET /posts` with `PAGE_CACHE_MS=0`: one query and one render per request",
    ),
    '## Targets',
    '',
    `- app's \`GET /posts\` ≥ ${REFERENCE_TARGET}× the reference's requests/s, side by side: ${referenceVerdict(comparison)}`,
    `- the same, every request rendered (\`PAGE_CACHE_MS=0\`): ${referenceVerdict(uncached)}`,
    `- deep page and first page within ${DEEP_TARGET}× of each other: ${deepVerdict(scenarios, deepCheck)}`,
    `- each search's p99 under ${SEARCH_P99_TARGET_MS} ms at ${SEARCH_CONNECTIONS} connections (${int(targets.posts)} posts): ${searchVerdict(search.rows, false)}`,
    `- no errors in any scenario: ${bad === 0 ? 'MET' : `MISSED: ${int(bad)} bad answers`}`,
    '',
    '## Reproduce',
    '',
    '`npm run bench` (about a quarter of an hour at the default sizes); `npm run bench -- --help` lists the options. ' +
      'Sizes and load by flag or environment variable: `SEED_USERS` (10000), ' +
      '`SEED_POSTS` (200000), `BENCH_DURATION` seconds per scenario (10), `BENCH_CONNECTIONS` (50), ' +
      '`BENCH_ROUNDS` of the comparison (5), `BENCH_SEARCH_ROUNDS` of the searches (3). `BENCH_ONLY=search` runs the searches alone (no other page, no ' +
      'comparison, no writes) and puts their section into this file beside those of other sizes, e.g. ' +
      '`BENCH_ONLY=search SEED_POSTS=1000000 npm run bench`; a whole run keeps the search sections of other sizes.',
    '',
  ].join('\n');
  const file = path.join(ROOT, REPORT_FILE);
  const sections = searchSectionsOf(fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
  // The section just rendered, as the file will hold it, among those of other sizes.
  sections.set(targets.posts, searchSectionsOf(report).get(targets.posts)!);
  await save(withSearchSections(report, sections));
  const compareBad = [comparison, uncached].some((result) => typeof result !== 'string' && result.exitCode !== 0);
  return bad === 0 && searchesOk(search) && !compareBad;
}

runScript('benchmark', run);
