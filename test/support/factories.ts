// Users and posts made straight in a test's database; PASSWORD logs any of the users in.
import crypto from 'node:crypto';
import type { Database } from '../../src/db/database.js';
import { Comment, Post, User } from '../../src/models/index.js';
import type { Role } from '../../src/models/user.model.js';
import { hashPassword } from '../../src/services/passwords.js';
import { createCommentsService } from '../../src/services/comments.service.js';
import { createPostsService } from '../../src/services/posts.service.js';

export const PASSWORD = 'a-good-long-password';

/** `bytes` random bytes in hex: a suffix that keeps names unique. */
export const hex = (bytes = 4): string => crypto.randomBytes(bytes).toString('hex');

let passwordHash: Promise<string> | undefined;

/** An account as most are: its address confirmed, unless `confirmed: false` (a fresh sign-up). */
export async function createUser(
  overrides: Partial<{
    username: string;
    email: string;
    displayName: string;
    role: Role;
    bio: string;
    confirmed: boolean;
  }> = {},
): Promise<User> {
  passwordHash ??= hashPassword(PASSWORD);
  const username = overrides.username ?? `u_${crypto.randomBytes(5).toString('hex')}`;
  return User.create({
    username,
    email: overrides.email ?? `${username}@example.com`,
    displayName: overrides.displayName ?? `User ${username}`,
    passwordHash: await passwordHash,
    role: overrides.role ?? 'member',
    bio: overrides.bio ?? '',
    emailConfirmedAt: overrides.confirmed === false ? null : new Date(),
  });
}

/** A post written through the service, so the author's counter stays exact. */
export async function createPost(
  db: Database,
  author: User,
  overrides: Partial<{ title: string; body: string; published: boolean; publishedAt: Date; tags: string[] }> = {},
): Promise<Post> {
  const post = await createPostsService(db.sequelize).create(author.id, {
    title: overrides.title ?? `Post ${crypto.randomBytes(4).toString('hex')}`,
    body: overrides.body ?? 'Some *Markdown* text.',
    published: overrides.published ?? true,
    tags: overrides.tags ?? [],
  });
  if (overrides.publishedAt && post.published) await post.update({ publishedAt: overrides.publishedAt });
  return post;
}

/** A comment written through the service, so the post's counter stays exact. */
export function createComment(db: Database, post: Post, author: User, body?: string): Promise<Comment> {
  return createCommentsService(db.sequelize).create(post.id, author.id, body ?? `A comment ${hex()}`);
}

/** A valid profile form for `user`, as its edit page would send it unchanged. */
export function profileOf(user: User, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    displayName: user.displayName,
    email: user.email,
    bio: user.bio,
    website: user.profile.website ?? '',
    github: user.profile.github ?? '',
    ...overrides,
  };
}
