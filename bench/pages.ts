// Pages benchmark: the app's pages under a bounded autocannon load on loopback, side by side
// with ../shared/bench/reference-server.mjs; one Markdown report on stdout, saved as
// docs/benchmarks.md (progress on stderr). Exit code 1 when any load had errors, timeouts or
// unexpected statuses; missed targets are reported, not a failure.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEMO_ADMIN_USERNAME } from '../src/db/demo.js';
import { addThread, countAndCheck, type PageTargets, readPageTargets, seedVolume, startDatabase } from './database.js';
import {
  asSession,
  type Figures,
  figuresOf,
  type LoadOptions,
  logIn,
  longMarkdown,
  publish,
  runLoad,
  type Session,
  writeAndFollow,
  writeOnce,
} from './driver.js';
import { readOptions, sizes } from './options.js';
import { type App, loggedSummary, startApp, startReference } from './processes.js';
import { int, mib, ms, saveMarkdown, statusList, table } from './report.js';
import {
  renderSearchSection,
  SEARCH_CONNECTIONS,
  searchesOk,
  searchPath,
  searchRows,
  searchVerdict,
  withSearchSection,
} from './search.js';
import { type Cleanup, log, median, ROOT, rssMiB, runScript } from './support.js';

const REPORT_FILE = 'docs/benchmarks.md';
const WARM_UP_S = 2;
// The comparisons are defined at 50 connections, whatever --connections says.
const COMPARE_CONNECTIONS = 50;
// People writing posts are far fewer than people reading them.
const WRITE_CONNECTIONS = 10;
// The long post's Markdown, in characters.
const LONG_POST_CHARS = 20_000;
// Logged-in connections share this many sessions of the demo admin.
const SESSIONS = 10;
const DEEP_TARGET = 1.5;
// A thread this long under one post: its page shows the first 50 comments.
const THREAD_COMMENTS = 1000;
// The volume posts carry 0 to 3 of this many tags, the first on about a fifth of them.
const VOLUME_TAGS = 50;
// A long thread's page against the plain post's, a tag's page against /posts.
const CONVERSATION_TARGET = 1.5;
const RSS_TARGET_MIB = 250;

const options = readOptions(
  `Usage: npm run bench -- [options]

The app's pages, searches and GET /posts against the reference, then logged-in POST /posts;
docs/development.md#benchmarks says what each load is. --only search runs the searches alone
and replaces only their section of ${REPORT_FILE}.`,
  {
    ...sizes(10_000, 200_000),
    duration: { env: 'BENCH_DURATION', help: 'seconds per load', min: 1, max: 600, fallback: 10 },
    connections: { env: 'BENCH_CONNECTIONS', help: 'connections of the pages', min: 1, max: 1000, fallback: 50 },
    rounds: { env: 'BENCH_ROUNDS', help: 'rounds of each comparison', min: 1, max: 25, fallback: 3 },
    searchRounds: { env: 'BENCH_SEARCH_ROUNDS', help: 'rounds of the searches', min: 1, max: 25, fallback: 3 },
    only: { env: 'BENCH_ONLY', help: 'run only this part: search', choices: ['search'] },
  },
);

/** A load of one origin: the requests each connection repeats, the sessions it uses, what each kind must answer. */
type Spec = Pick<LoadOptions, 'origin' | 'requests' | 'sessions' | 'drain'> & {
  connections: number;
  expected?: Expect;
};
type Expect = (kind: string, status: number) => boolean;
type Measured = Figures & { problems: string };

const is2xx: Expect = (_, status) => status >= 200 && status < 300;
const get = (path: string) => [{ kind: 'read', method: 'GET', path }];

/** A warm-up (for reads), then --duration s of `spec`; the figures of `kind`, with the bad answers of every kind. */
async function measure(app: App | undefined, spec: Spec, signal: AbortSignal, kind = 'read'): Promise<Measured> {
  const expected = spec.expected ?? is2xx;
  const load = { ...spec, expected, signal };
  if (kind === 'read') await runLoad({ ...load, durationS: WARM_UP_S });
  const result = await runLoad({ ...load, durationS: options.duration });
  if (signal.aborted) throw new Error('the load was interrupted');
  // Connection errors by the thousand mean the app is gone: say so rather than go on.
  if (app && !app.isRunning()) throw new Error(`the app exited during the load:${app.tail(10)}`);
  const problems = [...result.byKind].flatMap(([k, tally]) => {
    const f = figuresOf([tally], 1);
    const parts = [statusList(f.statuses, (s) => expected(k, s)), f.errors ? `${f.errors} connection errors` : ''];
    if (f.timeouts) parts.push(`${f.timeouts} timeouts`);
    return f.bad > 0 ? [`${k}: ${parts.filter(Boolean).join(', ')}`] : [];
  });
  const figures = figuresOf([result.byKind.get(kind)], result.windowMs);
  const bad = figuresOf([...result.byKind.values()], 1).bad;
  log(`  ${Math.round(figures.perSecond)} req/s, p99 ${Math.round(figures.p99Ms)} ms, bad answers ${bad}`);
  return { ...figures, bad, problems: problems.join('; ') };
}

type Scenario = { label: string; request: string; connections: number; figures: Measured; rssMiB?: number };

/** One row of the pages table: `request` loaded on `app`. */
async function scenario(app: App, label: string, request: string, signal: AbortSignal): Promise<Scenario> {
  log(`${label}: GET ${request}, ${options.connections} connections…`);
  const spec = { origin: app.origin, connections: options.connections, requests: get(request) };
  const figures = await measure(app, spec, signal);
  return { label, request: `GET ${request}`, connections: options.connections, figures, rssMiB: rssMiB(app.pid) };
}

/** The app's GET /posts and the reference's, interleaved A B B A A B …, as ../shared/bench/compare.mjs does. */
interface Comparison {
  label: string;
  /** Undefined: shown for what it tells, no target. */
  target: number | undefined;
  p99TargetMs?: number;
  rounds: { app: Measured; reference: Measured }[];
}

async function compare(
  label: string,
  app: App,
  spec: Spec,
  reference: string,
  target: number | undefined,
  signal: AbortSignal,
  p99TargetMs?: number,
): Promise<Comparison> {
  const referenceSpec = { origin: reference, connections: COMPARE_CONNECTIONS, requests: get('/posts') };
  const comparison: Comparison = { label, target, p99TargetMs, rounds: [] };
  for (let round = 1; round <= options.rounds; round++) {
    log(`GET /posts ${label} against the reference, round ${round} of ${options.rounds}…`);
    const appFirst = round % 2 === 1;
    const first = await measure(appFirst ? app : undefined, appFirst ? spec : referenceSpec, signal);
    const second = await measure(appFirst ? undefined : app, appFirst ? referenceSpec : spec, signal);
    comparison.rounds.push(appFirst ? { app: first, reference: second } : { app: second, reference: first });
  }
  return comparison;
}

function summary(c: Comparison) {
  const ratios = c.rounds.map((r) => r.app.perSecond / Math.max(1e-9, r.reference.perSecond));
  const bad = c.rounds.reduce((n, r) => n + r.app.bad + r.reference.bad, 0);
  const p99Ms = median(c.rounds.map((r) => r.app.p99Ms));
  const ratio = median(ratios);
  const met = bad === 0 && ratio >= (c.target ?? 0) && (c.p99TargetMs === undefined || p99Ms < c.p99TargetMs);
  const p99Target = c.p99TargetMs === undefined ? '' : `, p99 under ${c.p99TargetMs} ms`;
  const text = `${ratio.toFixed(2)}× the reference's requests/s, p99 ${ms(p99Ms)} ms (target ≥ ${c.target}×${p99Target})`;
  const verdict =
    bad > 0
      ? `not measured: ${bad} bad answers`
      : c.target === undefined
        ? 'no target'
        : `${met ? 'MET' : 'MISSED'}: ${text}`;
  return { ratios, ratio, bad, p99Ms, verdict };
}

/** `count` sessions of the demo admin (connections use them round robin), the first of which has written once. */
async function sessionsOf(app: App, count = SESSIONS): Promise<Session[]> {
  log(`logging in ${count} sessions of ${DEMO_ADMIN_USERNAME}…`);
  const sessions: Session[] = [];
  for (let i = 0; i < count; i++) sessions.push(await logIn(app, DEMO_ADMIN_USERNAME));
  await writeOnce(sessions[0]!);
  return sessions;
}

/** Each search loaded in turn per round: a noisy moment spoils one round of each, not every round of one. */
async function searchSection(
  url: string,
  app: App,
  targets: PageTargets,
  signal: AbortSignal,
): Promise<{ text: string; ok: boolean; verdict: string }> {
  const startedAt = new Date();
  log('counting the posts each search matches…');
  const rows = await searchRows(url, app.origin);
  for (let round = 1; round <= options.searchRounds; round++) {
    for (const row of rows) {
      log(`search, round ${round} of ${options.searchRounds}: ${row.search.label}…`);
      const spec = { origin: app.origin, connections: SEARCH_CONNECTIONS, requests: get(searchPath(row.search)) };
      row.rounds.push(await measure(app, spec, signal));
    }
  }
  const flags = process.argv.slice(2).join(' ');
  const env = ['SEED_USERS', 'SEED_POSTS', 'BENCH_DURATION', 'BENCH_SEARCH_ROUNDS', 'BENCH_ONLY']
    .filter((name) => process.env[name])
    .map((name) => `${name}=${process.env[name]}`);
  const text = renderSearchSection(rows, {
    targets,
    command: [...env, 'npm run bench', ...(flags ? ['--', flags] : [])].join(' '),
    when: when(startedAt),
    durationS: options.duration,
    warmUpS: WARM_UP_S,
    appLog: options.only ? loggedSummary(app) : 'see the pages',
  });
  return { text, ok: searchesOk(rows), verdict: searchVerdict(rows, false) };
}

const when = (date: Date): string => date.toISOString().replace('T', ' ').slice(0, 16);

async function save(report: string, section: string): Promise<void> {
  const file = path.join(ROOT, REPORT_FILE);
  const previous = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n\n';
  const saved = await saveMarkdown(REPORT_FILE, withSearchSection(report || previous, previous, section));
  process.stdout.write(`\n${saved}`);
}

async function run(cleanup: Cleanup, signal: AbortSignal): Promise<boolean> {
  const startedAt = new Date();
  log('starting PostgreSQL, migrating, seeding the demo data…');
  const database = await startDatabase(cleanup);
  log(`seeding ${options.users} users and ${options.posts} posts…`);
  const seedSeconds = await seedVolume(database.url, options.users, options.posts, { render: true, tags: VOLUME_TAGS });
  const targets = await readPageTargets(database.url);
  const threadPost = targets.threadPostId;
  await addThread(database.url, threadPost, THREAD_COMMENTS);
  // This app renders every request, for what each page really costs.
  const app = await startApp(database.url, cleanup, { PAGE_CACHE_MS: '0' });
  const search = await searchSection(database.url, app, targets, signal);
  if (options.only === 'search') {
    await save('', search.text);
    return search.ok;
  }

  const profile = `/users/${encodeURIComponent(targets.heavyUser.username)}`;
  const deepShare = Math.round((100 * targets.deepOffset) / targets.published);
  const [author] = await sessionsOf(app, 1);
  const longPost = await publish(author!, { title: 'A long post', body: longMarkdown(LONG_POST_CHARS) });
  const scenarios = [
    await scenario(app, 'first page of posts', '/posts', signal),
    await scenario(app, `deep page of posts (${deepShare} % in)`, `/posts?after=${targets.deepCursor}`, signal),
    await scenario(app, 'one post', `/posts/${targets.postId}`, signal),
    await scenario(app, `one post with ${int(THREAD_COMMENTS)} comments (50 shown)`, `/posts/${threadPost}`, signal),
    await scenario(app, `one long post (${LONG_POST_CHARS / 1000} kB of Markdown, stored as HTML)`, longPost, signal),
    await scenario(app, `profile of the user with the most posts (${targets.heavyUser.postsCount})`, profile, signal),
    ...(targets.topTag
      ? [
          await scenario(
            app,
            `the most used tag (${int(targets.topTag.postsCount)} posts)`,
            `/tags/${targets.topTag.name}`,
            signal,
          ),
        ]
      : []),
  ];

  // The app as deployed: anonymous pages reused for PAGE_CACHE_MS (1 s), and the lists' reads for everyone.
  const deployed = await startApp(database.url, cleanup);
  const comparisons: Comparison[] = [];
  const reference = await startReference(database.url, cleanup);
  if (reference) {
    const anonymous = (target: App) => ({
      origin: target.origin,
      connections: COMPARE_CONNECTIONS,
      requests: get('/posts'),
    });
    comparisons.push(await compare('as deployed', deployed, anonymous(deployed), reference, 0.7, signal));
    comparisons.push(await compare('rendered every time', app, anonymous(app), reference, 0.6, signal));
    const loggedIn = async (target: App) => ({
      ...anonymous(target),
      requests: [asSession({ kind: 'read', method: 'GET', path: '/posts' })],
      sessions: await sessionsOf(target),
    });
    comparisons.push(await compare('logged in', deployed, await loggedIn(deployed), reference, 0.5, signal, 150));
    const everyRead = 'logged in, every list read';
    comparisons.push(await compare(everyRead, app, await loggedIn(app), reference, undefined, signal));
  }

  // Last: the new posts change the lists the other loads read.
  log(`publishing posts, logged in: POST /posts and its 303, ${WRITE_CONNECTIONS} connections…`);
  const write = {
    origin: app.origin,
    connections: WRITE_CONNECTIONS,
    requests: writeAndFollow('Benchmark post'),
    expected: (kind: string, status: number) => status === (kind === 'write' ? 303 : 200),
    sessions: await sessionsOf(app),
  };
  const before = await countAndCheck(database.url);
  const writes = await measure(app, { ...write, drain: true }, signal, 'write');
  const after = await countAndCheck(database.url);
  const created = after.posts - before.posts;
  const answered303 = writes.statuses.get(303) ?? 0;
  const publishing = { label: 'publish a post, logged in', request: 'POST /posts', connections: WRITE_CONNECTIONS };
  scenarios.push({ ...publishing, figures: writes, rssMiB: rssMiB(app.pid) });

  const invariants = created === answered303 && after.countMismatches === 0;
  const cpus = os.cpus();
  const rssMax = Math.max(...[app, deployed].map((a) => rssMiB(a.pid) ?? 0));
  let bad = 0;
  for (const n of [...scenarios.map((s) => s.figures.bad), ...comparisons.map((c) => summary(c).bad)]) bad += n;
  const [first, deep, post, thread] = [0, 1, 2, 3].map((i) => scenarios[i]!.figures) as [
    Measured,
    Measured,
    Measured,
    Measured,
  ];
  const tagRow = scenarios.find((row) => row.request.startsWith('GET /tags/'))?.figures;
  const within = (slower: Measured, than: Measured, what: string): string => {
    const times = than.perSecond / Math.max(1e-9, slower.perSecond);
    return verdict(
      times <= CONVERSATION_TARGET,
      `${what}: ${int(slower.perSecond)} against ${int(than.perSecond)} req/s, ${times.toFixed(2)}×`,
    );
  };
  const deepRatio =
    Math.max(first.perSecond, deep.perSecond) / Math.max(1e-9, Math.min(first.perSecond, deep.perSecond));
  const verdict = (met: boolean, text: string): string => `${met ? 'MET' : 'MISSED'}: ${text}`;
  const report = [
    '# Benchmarks',
    '',
    `Page speed of the app under a bounded load on loopback, measured by \`npm run bench\` on ${when(startedAt)} UTC. ` +
      'Generated file: run the benchmark again rather than edit it.',
    '',
    `- machine: ${cpus[0]?.model.trim() ?? 'unknown CPU'} × ${cpus.length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}`,
    `- Node.js ${process.version}; ${targets.postgresVersion} (embedded, in a temporary directory)`,
    `- data: ${int(targets.users)} users, ${int(targets.posts)} posts (${int(targets.published)} published): ` +
      `the demo data and the volume seeder, then \`npm run posts:render\` (${int(seedSeconds)} s)`,
    '- the app: `src/server.ts` with `NODE_ENV=production`, a pool of 10 connections, behind one trusted proxy ' +
      '(`X-Forwarded-Proto: https`), logging warnings and errors only',
    `- load: autocannon on 127.0.0.1, a ${WARM_UP_S} s warm-up not counted, then ${options.duration} s per load`,
    '',
    'The machine is shared and noisy (±40 % between identical runs): compare the ratios measured side by side ' +
      'in one run, not the absolute figures of different runs.',
    '',
    '## `GET /posts` against the reference',
    '',
    `The app and \`../shared/bench/reference-server.mjs\` (the latest 20 published posts by one raw query and one ` +
      `cached template, the same pool size) on the same database, loaded in turn at ${COMPARE_CONNECTIONS} ` +
      `connections for ${options.rounds} interleaved rounds, as \`../shared/bench/compare.mjs\` does (which cannot ` +
      `send a session cookie). As deployed: anonymous pages reused for \`PAGE_CACHE_MS\` (1 s). Rendered every ` +
      `time: \`PAGE_CACHE_MS=0\`. Logged in: the deployed app, ${SESSIONS} sessions of the demo admin; their pages ` +
      `are rendered for each request, the list of posts is read at most once a second (docs/operations.md, shared ` +
      `list reads). Every list read: the same with \`PAGE_CACHE_MS=0\`.`,
    '',
    ...(comparisons.length === 0
      ? ['Not run: `../shared/bench/reference-server.mjs` is not there.']
      : table(
          [
            '`GET /posts`',
            'app req/s',
            'reference req/s',
            'app / reference',
            'by round',
            'app p99 ms',
            'errors',
            'target',
          ],
          'lrrrrrrl',
          comparisons.map((c) => {
            const s = summary(c);
            return [
              c.label,
              int(median(c.rounds.map((r) => r.app.perSecond))),
              int(median(c.rounds.map((r) => r.reference.perSecond))),
              `**${s.ratio.toFixed(2)}**`,
              s.ratios.map((r) => r.toFixed(2)).join(', '),
              ms(s.p99Ms),
              int(s.bad),
              s.verdict,
            ];
          }),
        )),
    '',
    '## Pages',
    '',
    'Every request rendered (`PAGE_CACHE_MS=0`): what each page costs, not how often a cache spares it.',
    '',
    ...table(
      ['scenario', 'request', 'connections', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'app RSS MiB'],
      'llrrrrrrr',
      scenarios.map(({ label, request, connections, figures: f, rssMiB: rss }) => [
        label,
        `\`${request}\``,
        String(connections),
        int(f.responses),
        int(f.perSecond),
        ms(f.p50Ms),
        ms(f.p99Ms),
        f.bad === 0 ? '0' : `**${int(f.bad)}** (${f.problems})`,
        mib(rss),
      ]),
    ),
    '',
    '- p50 and p99: latency of every response, whatever its status; errors: connection errors, timeouts (10 s) ' +
      'and answers other than 2xx (for `POST /posts`, other than 303); app RSS: after the load.',
    `- deep page: \`after\` is the cursor of published post ${int(targets.deepOffset)} of ${int(targets.published)}, newest first.`,
    `- publish a post: ${WRITE_CONNECTIONS} connections, each a session of the demo admin that posts the form and ` +
      'follows the 303 to the new post, as a browser does; the row shows the POSTs alone.',
    `- the app logged: ${loggedSummary(app)}; as deployed: ${loggedSummary(deployed)}.`,
    '',
    search.text,
    '## Targets',
    '',
    ...comparisons
      .filter((c) => c.target !== undefined)
      .map((c) => `- \`GET /posts\` ${c.label}: ${summary(c).verdict}`),
    `- deep page and first page within ${DEEP_TARGET}× of each other: ` +
      verdict(
        deepRatio <= DEEP_TARGET,
        `${int(first.perSecond)} and ${int(deep.perSecond)} req/s, ${deepRatio.toFixed(2)}× apart`,
      ),
    `- a post's page with ${int(THREAD_COMMENTS)} comments within ${CONVERSATION_TARGET}× of a post without any: ` +
      within(thread, post, 'the long thread'),
    `- the most used tag's page within ${CONVERSATION_TARGET}× of \`/posts\`: ` +
      (tagRow ? within(tagRow, first, 'the tag') : 'not measured: no tag'),
    `- each search's p99 under 100 ms at ${SEARCH_CONNECTIONS} connections (${int(targets.posts)} posts): ${search.verdict}`,
    `- the apps' memory after the benchmark under ${RSS_TARGET_MIB} MiB: ` +
      verdict(rssMax < RSS_TARGET_MIB, `the larger RSS ${mib(rssMax)} MiB`),
    `- no errors in any load: ${bad === 0 ? 'MET' : `MISSED: ${int(bad)} bad answers`}`,
    `- one new post per 303 and every posts_count exact after the writes: ${verdict(invariants, `${int(created)} posts for ${int(answered303)} 303s, ${after.countMismatches} users' posts_count wrong`)}`,
    '',
    '## Reproduce',
    '',
    '`npm run bench` (about a quarter of an hour at the default sizes); `npm run bench -- --help` lists the ' +
      'options, by flag or environment variable. `BENCH_ONLY=search SEED_POSTS=1000000 npm run bench` measures the ' +
      'searches alone at another size and puts their section beside the others in this file.',
    '',
  ].join('\n');
  await save(report, search.text);
  return bad === 0 && search.ok && invariants;
}

runScript('benchmark', run);
