// Query plans at size: `npm run bench:explain`. An embedded PostgreSQL seeded the app's way;
// the app in this process (every request rendered), every SELECT it sends recorded with its
// bound values while each page of the site is requested once; each run again under EXPLAIN
// (ANALYZE, BUFFERS). A Markdown report on stdout, saved as docs/query-plans.md; exit code 1
// when a page reads posts by a sequential scan.
import type pg from 'pg';
import { createDatabase } from '../src/db/database.js';
import { DEMO_ADMIN_USERNAME } from '../src/db/demo.js';
import { INDEX_CANDIDATES, RECENT_WINDOW, RELEVANCE_POOL } from '../src/services/post-search.js';
import { createPostsService } from '../src/services/posts.service.js';
import { SITEMAP_URLS } from '../src/services/sitemaps.service.js';
import { serveApp, TEST_POOL } from '../test/support/app.js';
import { addThread, readPageTargets, seedVolume, startDatabase } from './database.js';
import { logIn } from './driver.js';
import { readOptions, sizes } from './options.js';
import { saveMarkdown, table } from './report.js';
import { SEARCHES, searchPath } from './search.js';
import { type Cleanup, log, runScript, withClient } from './support.js';

const REPORT_FILE = 'docs/query-plans.md';
const options = readOptions(
  'Usage: npm run bench:explain -- [options]\n\nEXPLAIN (ANALYZE, BUFFERS) of every statement the pages run, saved as docs/query-plans.md;\nexit code 1 when a page reads posts by a sequential scan.',
  sizes(10_000, 1_000_000),
);

interface Statement {
  sql: string;
  bind: unknown[];
}

interface Explained extends Statement {
  plan: string;
  ms: number;
  seqScanOnPosts: boolean;
  /** How the plan reaches posts: its scans of posts and of posts' indexes, e.g. "bitmap posts_search_idx". */
  postsAccess: string[];
}

const POSTS_SCAN = /(Seq Scan|Bitmap Index Scan|Index Only Scan|Index Scan)(?: Backward)? (?:on|using) (posts\w*)/g;

function postsAccess(plan: string): string[] {
  const found = [...plan.matchAll(POSTS_SCAN)].map(([, node, name]) => {
    if (node === 'Seq Scan') return `**sequential ${name}**`;
    if (node === 'Bitmap Index Scan') return `bitmap ${name}`;
    return node === 'Index Only Scan' ? `${name} (index only)` : name!;
  });
  return [...new Set(found)];
}

async function explain(client: pg.Client, statement: Statement): Promise<Explained> {
  const result = await client.query<{ 'QUERY PLAN': string }>({
    text: `EXPLAIN (ANALYZE, BUFFERS) ${statement.sql}`,
    values: statement.bind,
  });
  const plan = result.rows.map((row) => row['QUERY PLAN']).join('\n');
  const ms = Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? NaN);
  return { ...statement, plan, ms, seqScanOnPosts: /Seq Scan on posts\b/.test(plan), postsAccess: postsAccess(plan) };
}

/** The link to a thread's second page of comments, from its first. */
async function laterComments(origin: string, postId: number): Promise<string> {
  const html = await (await fetch(`${origin}/posts/${postId}`)).text();
  const next = /href="([^"#]+)[^"]*" rel="next"/.exec(html)?.[1];
  if (!next) throw new Error(`no later comments on /posts/${postId}`);
  return next.replace(/&amp;/g, '&');
}

async function run(cleanup: Cleanup): Promise<boolean> {
  const server = await startDatabase(cleanup);
  log(`seeding ${options.users} users and ${options.posts} posts…`);
  await seedVolume(server.url, options.users, options.posts, { render: true, tags: 50 });
  const targets = await readPageTargets(server.url);
  await addThread(server.url, targets.threadPostId, 1000);
  const heavy = targets.heavyUser;

  const db = createDatabase(server.url, {
    ...TEST_POOL,
    dbStatementTimeoutMs: 0,
    dbSlowQueryMs: Number.MAX_SAFE_INTEGER,
  });
  const recorded: Statement[] = [];
  db.sequelize.addHook('afterQuery', (queryOptions, query) => {
    const sql = (query as unknown as { sql: string }).sql;
    const bind = (queryOptions as { bind?: unknown[] }).bind ?? [];
    if (/^\s*(SELECT|WITH)\b/i.test(sql)) recorded.push({ sql, bind });
  });
  const app = await serveApp(db, { pageCacheMs: 0 });
  const origin = `http://127.0.0.1:${app.port}`;

  const profile = `/users/${encodeURIComponent(targets.heavyUser.username)}`;
  const pages: [string, string][] = [
    ['home', '/'],
    ['posts, first page', '/posts'],
    ['posts, deep page (?after=)', `/posts?after=${targets.deepCursor}`],
    ['posts, going back (?before=)', `/posts?before=${targets.deepCursor}`],
    ['posts, page 50 by number', '/posts?page=50'],
    ...SEARCHES.map((search): [string, string] => [`posts search, ${search.label}`, searchPath(search)]),
    ['one post', `/posts/${targets.postId}`],
    ['site feed', '/posts.atom'],
    ['users', '/users'],
    ['users search for “ann”', '/users?q=ann'],
    [`busiest profile (${targets.heavyUser.postsCount} posts)`, profile],
    ['busiest profile, halfway down (?after=)', `${profile}?after=${heavy.middleCursor}`],
    ['busiest profile feed', `${profile}/posts.atom`],
    ['a post with 1,000 comments', `/posts/${targets.threadPostId}`],
    ['a post with 1,000 comments, its later comments', await laterComments(origin, targets.threadPostId)],
    ['tags', '/tags'],
    ...(targets.topTag
      ? ([
          [`the most used tag (${targets.topTag.postsCount} posts)`, `/tags/${targets.topTag.name}`],
          ['the most used tag’s feed', `/tags/${targets.topTag.name}/posts.atom`],
          ['posts search for “budget” in the most used tag', `/posts?q=budget&tag=${targets.topTag.name}`],
        ] as [string, string][])
      : []),
    // Each file is read 5,000 rows at a time: a statement a batch.
    ['the sitemap index', '/sitemap.xml'],
    [
      'a sitemap file of posts, from the middle (50,000 ids)',
      `/sitemaps/posts-${Math.max(1, Math.floor(targets.posts / SITEMAP_URLS / 2))}.xml`,
    ],
    ['the sitemap file of people', '/sitemaps/users-1.xml'],
    ['the sitemap file of tags', '/sitemaps/tags-1.xml'],
  ];
  const byPage: [string, Statement[]][] = [];
  const visit = async (url: string, cookie = ''): Promise<Statement[]> => {
    recorded.length = 0;
    const res = await fetch(origin + url, { headers: { cookie } });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
    return [...recorded];
  };
  for (const [name, url] of pages) byPage.push([`${name}: \`GET ${url}\``, await visit(url)]);
  // The owner's view of a profile lists drafts too, by when they were written.
  recorded.length = 0;
  await createPostsService(db.sequelize).listByAuthor({ authorId: heavy.id, includeDrafts: true, position: {} });
  byPage.push(['busiest profile seen by its owner (drafts too)', [...recorded]]);
  const admin = await logIn(app, DEMO_ADMIN_USERNAME);
  const asAdmin = await visit('/users?q=example.com', admin.cookie);
  byPage.push(['users search by email, as an admin: `GET /users?q=example.com`', asAdmin]);

  await app.close();
  await db.close();

  const sections: string[] = [];
  const rows: string[][] = [];
  let unexpected = 0;
  await withClient(server.url, async (client) => {
    for (const [page, statements] of byPage) {
      const explained: Explained[] = [];
      for (const statement of statements) explained.push(await explain(client, statement));
      const scans = explained.some((e) => e.seqScanOnPosts);
      if (scans) unexpected++;
      const slowest = Math.max(0, ...explained.map((e) => e.ms));
      const access = [...new Set(explained.flatMap((e) => e.postsAccess))].join(', ') || '–';
      rows.push([page, String(explained.length), `${slowest.toFixed(2)} ms`, access, scans ? '**yes**' : 'no']);
      sections.push(`## ${page}`, '');
      for (const e of explained) {
        sections.push('```sql', e.sql.trim(), '```', '');
        if (e.bind.length > 0) sections.push(`bound: \`${JSON.stringify(e.bind)}\``, '');
        sections.push('```text', e.plan, '```', '');
      }
    }
  });

  const summary = table(
    ['page', 'statements', 'slowest', 'posts read through', 'sequential scan on posts'],
    'lrrll',
    rows,
  );
  const report = [
    '# Query plans',
    '',
    `Every statement the pages run, under \`EXPLAIN (ANALYZE, BUFFERS)\`, on ${targets.users.toLocaleString('en-US')} users ` +
      `and ${targets.posts.toLocaleString('en-US')} posts (${targets.published.toLocaleString('en-US')} published), ` +
      `${targets.postgresVersion}; made by \`npm run bench:explain\` on ` +
      `${new Date().toISOString().slice(0, 10)}. Generated file: run it again rather than edit it.`,
    '',
    ...summary,
    '',
    'posts read through: the indexes of posts that the statements of the page use (bitmap: a bitmap index scan). ' +
      'A post search (`src/services/post-search.ts`) first bounds how many posts can hold its words, from the ' +
      "planner's estimate for each word (an `EXPLAIN` reading no row, not listed here). Up to " +
      `${INDEX_CANDIDATES.toLocaleString('en-US')} it searches every published post through the full-text index ` +
      '(`posts_search_idx`, a bitmap scan, the matches then sorted by date); past that, the newest ' +
      `${RECENT_WINDOW.toLocaleString('en-US')} published posts, read through the date index ` +
      `(\`posts_published_at_id_idx\`) until it has enough (${RELEVANCE_POOL} for best match, a page for newest first). ` +
      'A query of stop words only runs no search.',
    '',
    ...sections,
  ].join('\n');
  await saveMarkdown(REPORT_FILE, report);
  process.stdout.write(`${summary.join('\n')}\n\nsaved as ${REPORT_FILE}\n`);
  if (unexpected > 0) log(`${unexpected} page(s) read posts by a sequential scan`);
  return unexpected === 0;
}

runScript('bench:explain', run);
