// A few comments under the demo posts, from the demo people (seeders/data/demo-content.ts),
// each post's comments_count moved with them in the same transaction. Each comment is added
// once: a second run, or a run where a demo account or post is gone, adds only what is missing.
import { QueryTypes, type QueryInterface } from 'sequelize';
import { DEMO_EMAIL_DOMAIN } from '../src/db/demo';
import { DEMO_COMMENTS, DEMO_POSTS, DEMO_USERS } from './data/demo-content';

// The demo comments' rows, matched by text, author and post: the demo author of the post
// with that title. Parameters: $1 the comments as JSON, $2 '@' + the demo mail domain.
const DEMO_COMMENT_ROWS = `
  SELECT p.id AS post_id, u.id AS author_id, c.body,
         p.published_at + c."hoursAfter" * interval '1 hour' AS created_at
    FROM jsonb_to_recordset($1::jsonb) AS c(post text, author text, body text, "hoursAfter" float8)
    JOIN users u ON lower(u.username) = c.author AND right(lower(u.email), char_length($2::text)) = $2::text
    JOIN posts p ON p.title = c.post AND p.published
    JOIN users pa ON pa.id = p.author_id AND right(lower(pa.email), char_length($2::text)) = $2::text`;

const bind = (): unknown[] => [JSON.stringify(DEMO_COMMENTS), `@${DEMO_EMAIL_DOMAIN}`];

export async function up(queryInterface: QueryInterface): Promise<void> {
  const usernames = new Set(DEMO_USERS.map((user) => user.username));
  const published = new Set(DEMO_POSTS.filter((post) => !post.draft).map((post) => post.title));
  const wrong = DEMO_COMMENTS.find((comment) => !usernames.has(comment.author) || !published.has(comment.post));
  if (wrong) throw new Error(`Demo comment "${wrong.body}" names an unknown author or post`);

  await queryInterface.sequelize.transaction(async (transaction) => {
    await queryInterface.sequelize.query(
      `WITH added AS (
         INSERT INTO comments (post_id, author_id, body, created_at, updated_at)
         SELECT d.post_id, d.author_id, d.body, d.created_at, d.created_at
           FROM (${DEMO_COMMENT_ROWS}) d
          WHERE NOT EXISTS (SELECT 1 FROM comments x
                             WHERE x.post_id = d.post_id AND x.author_id = d.author_id AND x.body = d.body)
         RETURNING post_id)
       UPDATE posts p SET comments_count = p.comments_count + a.n
         FROM (SELECT post_id, count(*)::int AS n FROM added GROUP BY post_id) a
        WHERE p.id = a.post_id`,
      { bind: bind(), type: QueryTypes.UPDATE, transaction },
    );
  });
}

export async function down(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.sequelize.transaction(async (transaction) => {
    await queryInterface.sequelize.query(
      `WITH gone AS (
         DELETE FROM comments x USING (${DEMO_COMMENT_ROWS}) d
          WHERE x.post_id = d.post_id AND x.author_id = d.author_id AND x.body = d.body
         RETURNING x.post_id)
       UPDATE posts p SET comments_count = p.comments_count - g.n
         FROM (SELECT post_id, count(*)::int AS n FROM gone GROUP BY post_id) g
        WHERE p.id = g.post_id`,
      { bind: bind(), type: QueryTypes.UPDATE, transaction },
    );
  });
}
