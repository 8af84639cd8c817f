// Tags on the demo posts (seeders/data/demo-content.ts). The database keeps each tag's count
// of published posts (triggers on post_tags): this seeder only says which post carries which
// tag. Each pairing is added once: a second run adds only what is missing.
import { QueryTypes, type QueryInterface } from 'sequelize';
import { DEMO_EMAIL_DOMAIN } from '../src/db/demo';
import { TAG_PATTERN } from '../src/models/fields';
import { DEMO_POSTS, DEMO_TAGS } from './data/demo-content';

const pairs = (): { title: string; tag: string }[] =>
  Object.entries(DEMO_TAGS).flatMap(([title, tags]) => tags.map((tag) => ({ title, tag })));

// The demo posts' pairings, matched by the post's title and its demo author.
// Parameters: $1 the pairs as JSON, $2 '@' + the demo mail domain.
const DEMO_PAIRS = `
  SELECT p.id AS post_id, d.tag
    FROM jsonb_to_recordset($1::jsonb) AS d(title text, tag text)
    JOIN posts p ON p.title = d.title
    JOIN users u ON u.id = p.author_id AND right(lower(u.email), char_length($2::text)) = $2::text`;

const bind = (): unknown[] => [JSON.stringify(pairs()), `@${DEMO_EMAIL_DOMAIN}`];

export async function up(queryInterface: QueryInterface): Promise<void> {
  const titles = new Set(DEMO_POSTS.map((post) => post.title));
  const wrong = pairs().find(({ title, tag }) => !titles.has(title) || !TAG_PATTERN.test(tag));
  if (wrong) throw new Error(`Demo tag "${wrong.tag}" of "${wrong.title}": no such post, or not a tag`);

  await queryInterface.sequelize.transaction(async (transaction) => {
    await queryInterface.sequelize.query(
      `INSERT INTO tags (name) SELECT DISTINCT d.tag FROM (${DEMO_PAIRS}) d ON CONFLICT (name) DO NOTHING`,
      { bind: bind(), type: QueryTypes.INSERT, transaction },
    );
    await queryInterface.sequelize.query(
      `INSERT INTO post_tags (post_id, tag_id)
       SELECT d.post_id, t.id FROM (${DEMO_PAIRS}) d JOIN tags t ON t.name = d.tag
       ON CONFLICT DO NOTHING`,
      { bind: bind(), type: QueryTypes.INSERT, transaction },
    );
  });
}

export async function down(queryInterface: QueryInterface): Promise<void> {
  await queryInterface.sequelize.transaction(async (transaction) => {
    await queryInterface.sequelize.query(
      `DELETE FROM post_tags pt USING (${DEMO_PAIRS}) d, tags t
        WHERE pt.post_id = d.post_id AND t.name = d.tag AND pt.tag_id = t.id`,
      { bind: bind(), type: QueryTypes.DELETE, transaction },
    );
    // The demo's tags that no post carries any more.
    await queryInterface.sequelize.query(
      `DELETE FROM tags t WHERE t.name IN (SELECT DISTINCT d.tag FROM (${DEMO_PAIRS}) d)
          AND NOT EXISTS (SELECT 1 FROM post_tags pt WHERE pt.tag_id = t.id)`,
      { bind: bind(), type: QueryTypes.DELETE, transaction },
    );
  });
}
