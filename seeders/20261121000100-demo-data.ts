import { QueryTypes, type QueryInterface } from 'sequelize';
import { DEMO_EMAIL_DOMAIN, DEMO_PASSWORD } from '../src/db/demo';
import { deleteCommentsBy } from '../src/services/comments.service';
import { hashPassword } from '../src/services/passwords';
import { DEMO_POSTS, DEMO_USERS } from './data/demo-content';

const DAY_MS = 24 * 60 * 60 * 1000;
// A published post was written a little while before it went out.
const WRITING_TIME_MS = 3 * 60 * 60 * 1000;

const DEMO_USERNAMES = DEMO_USERS.map((user) => user.username);

// Both conditions, so that a real account that happens to share a demo username is never
// touched. Parameters: $1 the demo usernames, $2 '@' + the demo mail domain.
const IS_DEMO_USER = `lower(username) = ANY($1::text[])
  AND right(lower(email), char_length($2::text)) = lower($2::text)`;

export async function up(queryInterface: QueryInterface): Promise<void> {
  const unknownAuthor = DEMO_POSTS.find((post) => !DEMO_USERNAMES.includes(post.author));
  if (unknownAuthor) {
    throw new Error(`Demo post "${unknownAuthor.title}" has an unknown author "${unknownAuthor.author}"`);
  }

  const now = Date.now();
  const daysAgo = (days: number): Date => new Date(now - days * DAY_MS);

  // argon2 is slow on purpose: hash before the transaction opens rather than inside it.
  const passwordHashes = await Promise.all(DEMO_USERS.map(() => hashPassword(DEMO_PASSWORD)));
  const users = DEMO_USERS.map((user, i) => ({
    username: user.username,
    email: `${user.username}@${DEMO_EMAIL_DOMAIN}`,
    password_hash: passwordHashes[i],
    display_name: user.displayName,
    bio: user.bio,
    role: user.role,
    profile_keys: Object.keys(user.profile),
    profile_values: Object.values(user.profile),
    created_at: daysAgo(user.joinedDaysAgo),
  }));

  await queryInterface.sequelize.transaction(async (transaction) => {
    // No conflict target: either unique index (lower(username), lower(email)) skips the row.
    // RETURNING lists only the rows inserted now, so a second run adds no posts either.
    const created = await queryInterface.sequelize.query<{ id: number; username: string }>(
      `INSERT INTO users
         (username, email, password_hash, display_name, bio, role, profile, created_at, updated_at, email_confirmed_at)
       SELECT u.username, u.email, u.password_hash, u.display_name, u.bio, u.role,
              hstore(u.profile_keys, u.profile_values), u.created_at, u.created_at, u.created_at
         FROM jsonb_to_recordset($1::jsonb) AS u(
                username text, email text, password_hash text, display_name text, bio text,
                role text, profile_keys text[], profile_values text[], created_at timestamptz)
       ON CONFLICT DO NOTHING
       RETURNING id, username`,
      { bind: [JSON.stringify(users)], type: QueryTypes.SELECT, transaction },
    );
    if (created.length === 0) return;

    const authorIds = new Map(created.map((user) => [user.username, user.id]));
    const posts = DEMO_POSTS.flatMap((post) => {
      const authorId = authorIds.get(post.author);
      if (authorId === undefined) return [];
      const publishedAt = post.draft ? null : daysAgo(post.daysAgo);
      const createdAt = publishedAt ? new Date(publishedAt.getTime() - WRITING_TIME_MS) : daysAgo(post.daysAgo);
      return [
        {
          author_id: authorId,
          title: post.title,
          body: post.body,
          published: publishedAt !== null,
          published_at: publishedAt,
          created_at: createdAt,
          updated_at: publishedAt ?? createdAt,
        },
      ];
    });

    if (posts.length > 0) {
      await queryInterface.sequelize.query(
        `INSERT INTO posts (author_id, title, body, published, published_at, created_at, updated_at)
         SELECT p.author_id, p.title, p.body, p.published, p.published_at, p.created_at, p.updated_at
           FROM jsonb_to_recordset($1::jsonb) AS p(
                  author_id integer, title text, body text, published boolean,
                  published_at timestamptz, created_at timestamptz, updated_at timestamptz)`,
        { bind: [JSON.stringify(posts)], transaction },
      );
    }

    await queryInterface.sequelize.query(
      `UPDATE users SET posts_count = (SELECT count(*) FROM posts WHERE author_id = users.id)
        WHERE id = ANY($1::integer[])`,
      { bind: [created.map((user) => user.id)], transaction },
    );
  });
}

export async function down(queryInterface: QueryInterface): Promise<void> {
  const bind = [DEMO_USERNAMES, `@${DEMO_EMAIL_DOMAIN}`];
  await queryInterface.sequelize.transaction(async (transaction) => {
    // Locked, so that none of them adds a comment before they go.
    const demo = await queryInterface.sequelize.query<{ id: number }>(
      `SELECT id FROM users WHERE ${IS_DEMO_USER} FOR UPDATE`,
      { bind, type: QueryTypes.SELECT, transaction },
    );
    // Their comments under other people's posts leave those posts' counts.
    await deleteCommentsBy(
      queryInterface.sequelize,
      demo.map((user) => user.id),
      transaction,
    );
    await queryInterface.sequelize.query(
      `DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE ${IS_DEMO_USER})`,
      { bind, transaction },
    );
    // Their posts go with them, and the comments under those: ON DELETE CASCADE.
    await queryInterface.sequelize.query(`DELETE FROM users WHERE ${IS_DEMO_USER}`, { bind, transaction });
  });
}
