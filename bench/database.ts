// The load check's database: an embedded PostgreSQL that can be restarted mid-run, its
// schema and seed data, and the SQL the checks read.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../src/db/embedded.js';
import { migrate, runSeeders } from '../src/db/migrator.js';
import { createSequelize } from '../src/db/sequelize.js';
import { hashPassword } from '../src/services/passwords.js';
import { freePort } from '../test/helpers/ports.js';

const DEMO_SEEDER = '20261121000100-demo-data.ts';
// embedded.stop() waits up to 15 s for an exit that never comes when PostgreSQL is already
// gone (Ctrl-C reaches it directly): when cleaning up, don't wait that long.
const CLEANUP_STOP_TIMEOUT_MS = 5000;

/** An embedded PostgreSQL in a temporary directory, removed by `dispose`. */
export class EmbeddedServer {
  private current: EmbeddedDatabase | undefined;

  private constructor(
    readonly dataDir: string,
    readonly port: number,
  ) {}

  static async start(): Promise<EmbeddedServer> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'users-and-posts-bench-'));
    // PostgreSQL runs as its own user when we are root: it must reach the directory.
    fs.chmodSync(dataDir, 0o755);
    const server = new EmbeddedServer(dataDir, await freePort());
    await server.startPostgres();
    return server;
  }

  get url(): string {
    if (!this.current) throw new Error('PostgreSQL is not running');
    return this.current.url;
  }

  /** Starts the cluster in dataDir (the same one again after a stop). */
  async startPostgres(): Promise<void> {
    this.current = await startEmbeddedPostgres({ dataDir: this.dataDir, port: this.port });
  }

  /** Fast shutdown (SIGINT to the postmaster): open sessions are ended at once. */
  async stopPostgres(): Promise<void> {
    const running = this.current;
    this.current = undefined;
    await running?.stop();
  }

  async dispose(): Promise<void> {
    const running = this.current;
    this.current = undefined;
    if (running) await Promise.race([running.stop(), delay(CLEANUP_STOP_TIMEOUT_MS)]);
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** One short-lived connection for the script's own queries. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'bench-load' });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The app's migrations and its demo seeder (idempotent), as the app itself runs them. */
export async function migrateAndSeedDemo(url: string): Promise<void> {
  const sequelize = createSequelize(url, {
    dbPoolMax: 1,
    dbPoolMin: 0,
    dbAcquireTimeoutMs: 30_000,
    dbConnectTimeoutMs: 30_000,
    dbStatementTimeoutMs: 300_000,
    dbSlowQueryMs: 300_000,
  });
  try {
    await migrate(sequelize);
    await runSeeders(sequelize, [DEMO_SEEDER]);
  } finally {
    await sequelize.close();
  }
}

// Words for generated titles and bodies: enough variety that rows differ in size and text.
const TITLE_WORDS = [
  'notes',
  'thoughts',
  'lessons',
  'a week',
  'the trouble',
  'small wins',
  'field report',
  'a guide',
  'questions',
  'first steps',
  'why I stopped',
  'how I learned',
  'revisiting',
  'against',
  'in praise of',
];
const TOPICS = [
  'sourdough',
  'night trains',
  'Postgres indexes',
  'allotment beans',
  'long novels',
  'hill walking',
  'error handling',
  'fermentation',
  'bike repairs',
  'TypeScript generics',
  'winter light',
  'slow travel',
  'budget cameras',
  'tomato blight',
  'code review',
  'moving house',
  'learning Czech',
  'cheap notebooks',
];
const SENTENCES = [
  'I started this on a wet Tuesday with no plan at all, which is how most of my projects begin.',
  'The first attempt went badly, but it taught me more than the second one that worked.',
  'Most of the advice online assumes you have far more time and far better tools than I do.',
  'What surprised me was how much of the work was waiting, and how little was actually doing.',
  'If you try this yourself, write down what you change each time, or you will repeat mistakes.',
  'A friend pointed out that the simple version was good enough, and she was right again.',
  'There is a **short list** at the end of the things I would do differently next time.',
  'I measured everything twice and still got one number wrong, so check your own figures.',
  'By the third week the routine felt normal, and I stopped noticing the effort it took.',
  'The cost was lower than I feared: a few evenings, some patience, and one broken mug.',
  'Questions in the comments last time pushed me to explain the parts I had skipped over.',
  'None of this is new, but putting it in one place helps me, and maybe it helps you too.',
];

/**
 * `users` extra members and `posts` extra posts (about 90 % published, spread over a year),
 * generated by PostgreSQL in one transaction; then every posts_count is set exactly in one
 * UPDATE. The extra users share one real argon2 hash (nobody logs in as them).
 */
export async function seedExtra(url: string, users: number, posts: number): Promise<void> {
  // A tag per run, so that a database given by --database-url can be seeded again.
  const tag = `ld${crypto.randomBytes(3).toString('hex')}_`;
  const passwordHash = await hashPassword(crypto.randomBytes(12).toString('base64url'));
  await withClient(url, async (client) => {
    await client.query('BEGIN');
    try {
      const created = await client.query<{ id: number }>(
        `WITH w AS (SELECT $4::text[] AS topics)
         INSERT INTO users (username, email, password_hash, display_name, bio, role, created_at, updated_at)
         SELECT $1::text || j.i, $1::text || j.i || '@load.example.com', $2::text,
                'Load tester ' || j.i,
                'Writes about ' || w.topics[1 + j.i % cardinality(w.topics)] || ' and ' ||
                  w.topics[1 + (j.i * 7) % cardinality(w.topics)] || '.',
                'member', j.t, j.t
           FROM w, (SELECT i, now() - make_interval(days => 400 + i % 300) AS t
                      FROM generate_series(1, $3::int) AS i) AS j
         RETURNING id`,
        [tag, passwordHash, users, TOPICS],
      );
      const authorIds = created.rows.map((row) => row.id);
      // Published posts: published_at spread over the last year, written ~3 hours earlier.
      // Drafts (every tenth): no published_at, written some time in the last month.
      await client.query(
        `WITH w AS (SELECT $1::int[] AS authors, $3::text[] AS words, $4::text[] AS topics, $5::text[] AS sentences)
         INSERT INTO posts (author_id, title, body, published, published_at, created_at, updated_at)
         SELECT w.authors[1 + (i * 7919) % cardinality(w.authors)],
                initcap(w.words[1 + i % cardinality(w.words)]) || ' on ' ||
                  w.topics[1 + (i * 13) % cardinality(w.topics)] || ' (' || i || ')',
                w.sentences[1 + i % cardinality(w.sentences)] || ' ' ||
                  w.sentences[1 + (i * 5) % cardinality(w.sentences)] || E'\\n\\n' ||
                  w.sentences[1 + (i * 7) % cardinality(w.sentences)] || ' ' ||
                  repeat(w.sentences[1 + (i * 11) % cardinality(w.sentences)] || ' ', 1 + i % 3),
                i % 10 <> 0,
                CASE WHEN i % 10 <> 0 THEN g.published END,
                CASE WHEN i % 10 <> 0 THEN g.published - interval '3 hours' ELSE g.drafted END,
                CASE WHEN i % 10 <> 0 THEN g.published ELSE g.drafted END
           FROM w, (SELECT i, now() - make_interval(secs => random() * 365 * 86400) AS published,
                           now() - make_interval(mins => i % 43200) AS drafted
                      FROM generate_series(1, $2::int) AS i) AS g`,
        [authorIds, posts, TITLE_WORDS, TOPICS, SENTENCES],
      );
      await client.query(
        `UPDATE users u SET posts_count = c.n
           FROM (SELECT u2.id, count(p.id)::int AS n
                   FROM users u2 LEFT JOIN posts p ON p.author_id = u2.id
                  GROUP BY u2.id) AS c
          WHERE c.id = u.id AND u.posts_count <> c.n`,
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
    await client.query('ANALYZE users, posts');
  });
}

export interface Targets {
  /** Ids of published posts: anyone may read them. */
  postIds: number[];
  usernames: string[];
  users: number;
  posts: number;
}

/** What the reads pick from, and the sizes for the report. */
export async function readTargets(url: string): Promise<Targets> {
  return withClient(url, async (client) => {
    const ids = await client.query<{ id: number }>('SELECT id FROM posts WHERE published');
    const names = await client.query<{ username: string }>('SELECT username FROM users');
    const total = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM posts');
    return {
      postIds: ids.rows.map((row) => row.id),
      usernames: names.rows.map((row) => row.username),
      users: names.rows.length,
      posts: total.rows[0]?.n ?? 0,
    };
  });
}

export async function countPosts(url: string): Promise<number> {
  return withClient(url, async (client) => {
    const result = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM posts');
    return result.rows[0]?.n ?? 0;
  });
}

export interface Consistency {
  totalPosts: number;
  /** Users whose posts_count differs from their rows in posts (up to 5 shown). */
  countMismatches: { username: string; postsCount: number; actual: number }[];
  countMismatchTotal: number;
  orphanPosts: number;
}

export async function checkConsistency(url: string): Promise<Consistency> {
  return withClient(url, async (client) => {
    const mismatches = await client.query<{ username: string; posts_count: number; actual: number; total: number }>(
      `SELECT u.username, u.posts_count, coalesce(c.n, 0)::int AS actual, count(*) OVER ()::int AS total
         FROM users u
         LEFT JOIN (SELECT author_id, count(*) AS n FROM posts GROUP BY author_id) c ON c.author_id = u.id
        WHERE u.posts_count <> coalesce(c.n, 0)
        ORDER BY u.id
        LIMIT 5`,
    );
    const orphans = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM posts p WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = p.author_id)`,
    );
    return {
      totalPosts: await countPosts(url),
      countMismatches: mismatches.rows.map((row) => ({
        username: row.username,
        postsCount: row.posts_count,
        actual: row.actual,
      })),
      countMismatchTotal: mismatches.rows[0]?.total ?? 0,
      orphanPosts: orphans.rows[0]?.n ?? 0,
    };
  });
}
