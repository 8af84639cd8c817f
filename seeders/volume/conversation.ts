// Comments and tags for the volume seeder's posts, when asked (SEED_COMMENTS, SEED_TAGS):
// set-based statements over the posts just loaded, deterministic for a given SEED (every
// choice is a hash of the seed and a row number), in the seeder's transaction.
import type pg from 'pg';

/** What a volume comment says: one of these, or two of them. */
const COMMENT_LINES = [
  'Thanks for writing this up.',
  'I tried this last week and it worked for me too.',
  'Could you say more about the second part?',
  'We did the same and ran into trouble with the details.',
  'Bookmarked for later.',
  'This matches what I have seen, mostly.',
  'I disagree with the last paragraph, but the rest is spot on.',
  'What would you do differently next time?',
  'Great post, clear and to the point.',
  'Any links to read more about this?',
];

/** The tags volume posts carry, the first the most used: numbered ones follow past these. */
const TAG_WORDS = [
  'cooking',
  'travel',
  'programming',
  'books',
  'hiking',
  'gardening',
  'photography',
  'music',
  'postgresql',
  'python',
  'typescript',
  'baking',
  'cycling',
  'running',
  'design',
  'writing',
  'history',
  'science',
  'film',
  'games',
  'coffee',
  'tea',
  'parenting',
  'health',
  'budget',
  'diy',
  'linux',
  'security',
  'testing',
  'teaching',
];

/** The names of `count` volume tags. */
export function tagNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => TAG_WORDS[i] ?? `topic-${i + 1}`);
}

/** A number in [0, 1) from the seed, a purpose and a row number (SQL, over `n`). */
const uniform = (purpose: string, n: string): string =>
  `((abs(hashtext($1 || ':${purpose}:' || ${n})) % 1000000) / 1000000.0)`;

/**
 * The post the n-th volume comment goes under (SQL, over `n`), as its place among the
 * volume posts, 0 for the first of `posts` (a parameter): the newest draw the most.
 */
const postOfComment = (posts: string): string =>
  `${posts}::int - 1 - floor(power(${uniform('post', 'n')}, 3) * ${posts}::int)::int`;

/**
 * How many of about `count` volume comments each of `posts` volume posts will draw if it
 * is published (by its place, 0 for the first), before the posts are there: copied in with
 * their counts, the posts need no rewrite when addComments adds the comments.
 */
export async function countComments(
  client: pg.Client,
  seed: string,
  count: number,
  posts: number,
): Promise<Int32Array> {
  const counts = new Int32Array(posts);
  if (count === 0 || posts === 0) return counts;
  const { rows } = await client.query<{ places: number[] | null; counts: number[] | null }>(
    `SELECT array_agg(place) AS places, array_agg(n) AS counts
       FROM (SELECT ${postOfComment('$3')} AS place, count(*)::int AS n
               FROM generate_series(1, $2::int) AS g(n)
              GROUP BY 1) c`,
    [seed, count, posts],
  );
  const places = rows[0]?.places ?? [];
  const numbers = rows[0]?.counts ?? [];
  places.forEach((place, i) => (counts[place] = numbers[i]!));
  return counts;
}

/**
 * Adds about `count` comments by the volume users under the volume posts that are
 * published: the newest posts draw the most (countComments gave each post its number of
 * them), a week's worth after each post went out. Returns how many it added.
 */
export async function addComments(
  client: pg.Client,
  seed: string,
  count: number,
  ids: { firstUserId: number; users: number; firstPostId: number; posts: number },
): Promise<number> {
  if (count === 0 || ids.posts === 0) return 0;
  const lines = COMMENT_LINES.length;
  const added = await client.query(
    `INSERT INTO comments (post_id, author_id, body, created_at, updated_at)
     SELECT p.id, $4::int + floor(${uniform('author', 'n')} * $5::int)::int,
            ($7::text[])[1 + floor(${uniform('line', 'n')} * ${lines})::int]
              || CASE WHEN ${uniform('more', 'n')} < 0.3
                      THEN ' ' || ($7::text[])[1 + floor(${uniform('line2', 'n')} * ${lines})::int] ELSE '' END,
            p.published_at + floor(${uniform('at', 'n')} * 604800) * interval '1 second',
            p.published_at + floor(${uniform('at', 'n')} * 604800) * interval '1 second'
       FROM generate_series(1, $2::int) AS g(n)
       JOIN posts p ON p.id = $3::int + ${postOfComment('$6')}
      WHERE p.published`,
    [seed, count, ids.firstPostId, ids.firstUserId, ids.users, ids.posts, COMMENT_LINES],
  );
  return added.rowCount ?? 0;
}

// The triggers that keep post_tags.published_at and tags.posts_count, one row at a time.
const POST_TAGS_TRIGGERS = ['post_tags_published_at', 'post_tags_count'];

/**
 * Gives each volume post 0 to 3 of `count` tags, the first of them the most used, and sets
 * every volume tag's posts_count. Row by row, the triggers would update the few busiest
 * tags' rows a million times in this one transaction: they are switched off for the insert,
 * which writes published_at itself, and back on before it returns. Returns how many
 * pairings it added.
 */
export async function addTags(
  client: pg.Client,
  seed: string,
  count: number,
  ids: { firstPostId: number; posts: number },
): Promise<number> {
  if (count === 0 || ids.posts === 0) return 0;
  const names = tagNames(count);
  await client.query(`INSERT INTO tags (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING`, [names]);
  await client.query(`ALTER TABLE post_tags ${POST_TAGS_TRIGGERS.map((t) => `DISABLE TRIGGER ${t}`).join(', ')}`);
  const added = await client.query(
    `INSERT INTO post_tags (post_id, tag_id, published_at)
     SELECT DISTINCT p.id, t.id, CASE WHEN p.published THEN p.published_at END
       FROM posts p
       CROSS JOIN generate_series(1, 3) AS k
       JOIN tags t ON t.name = ($4::text[])[1 + floor(power(${uniform('tag', "(p.id - $2::int) || ':' || k")}, 2) * $5::int)::int]
      WHERE p.id BETWEEN $2::int AND $2::int + $3::int - 1
        AND k <= floor(${uniform('tags', 'p.id - $2::int')} * 4)
     ON CONFLICT DO NOTHING`,
    [seed, ids.firstPostId, ids.posts, names, count],
  );
  await client.query(`ALTER TABLE post_tags ${POST_TAGS_TRIGGERS.map((t) => `ENABLE TRIGGER ${t}`).join(', ')}`);
  await recountTags(client, names);
  return added.rowCount ?? 0;
}

/** Sets the posts_count of the tags named `names` to what post_tags holds. */
export async function recountTags(client: pg.Client, names: string[]): Promise<void> {
  await client.query(
    `UPDATE tags t SET posts_count = (SELECT count(*) FROM post_tags pt
                                       WHERE pt.tag_id = t.id AND pt.published_at IS NOT NULL)
      WHERE t.name = ANY($1::text[])`,
    [names],
  );
}

/**
 * Before the volume accounts go: takes their comments off other posts' counts, and their
 * posts' tags off the tags' counts in one pass rather than one trigger call a row (the
 * triggers are off meanwhile), deleting the tags no post carries any more.
 */
export async function removeConversation(client: pg.Client, isVolumeUser: string, bind: unknown[]): Promise<void> {
  await client.query(
    `WITH gone AS (
       DELETE FROM comments WHERE author_id IN (SELECT id FROM users WHERE ${isVolumeUser} FOR UPDATE)
       RETURNING post_id)
     UPDATE posts p SET comments_count = p.comments_count - g.n
       FROM (SELECT post_id, count(*)::int AS n FROM gone GROUP BY post_id) g
      WHERE p.id = g.post_id`,
    bind,
  );
  await client.query(`ALTER TABLE post_tags ${POST_TAGS_TRIGGERS.map((t) => `DISABLE TRIGGER ${t}`).join(', ')}`);
  const touched = await client.query<{ name: string }>(
    `WITH gone AS (
       DELETE FROM post_tags WHERE post_id IN (
         SELECT p.id FROM posts p WHERE p.author_id IN (SELECT id FROM users WHERE ${isVolumeUser}))
       RETURNING tag_id)
     SELECT DISTINCT t.name FROM gone JOIN tags t ON t.id = gone.tag_id`,
    bind,
  );
  await client.query(`ALTER TABLE post_tags ${POST_TAGS_TRIGGERS.map((t) => `ENABLE TRIGGER ${t}`).join(', ')}`);
  const names = touched.rows.map((row) => row.name);
  await recountTags(client, names);
  await client.query(
    `DELETE FROM tags t WHERE t.name = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM post_tags pt WHERE pt.tag_id = t.id)`,
    [names],
  );
}
