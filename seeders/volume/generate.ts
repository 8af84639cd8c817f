// The volume data itself: users, which of them wrote each post, and the posts, with their
// COPY data. Everything is a pure function of the SEED string and the two sizes.
import { BinaryCopyWriter } from './binary-copy';
import { Random, streamFor } from './random';
import {
  BIO_TEMPLATES,
  CODE_SNIPPETS,
  FIRST_NAMES,
  INTERESTS,
  LANGUAGES,
  LAST_NAMES,
  LINK_HOSTS,
  TITLE_OPENERS,
  TITLE_SUFFIXES,
  WORDS,
} from './words';

export const VOLUME_EMAIL_DOMAIN = 'volume.example.com';
export const VOLUME_USERNAME_PREFIX = 'v_';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
// Fixed, so that the same SEED gives the very same rows whenever it runs.
export const TIMELINE_END_MS = Date.UTC(2026, 10, 1);
export const TIMELINE_START_MS = TIMELINE_END_MS - 730 * DAY_MS;
// Readers who never post: a realistic share of any community.
const AUTHOR_SHARE = 0.7;
const PUBLISHED_SHARE = 0.85;
const PARAGRAPH_POOL = 4000;

export interface VolumeUser {
  username: string;
  email: string;
  displayName: string;
  bio: string;
  /** hstore text ('' for none). */
  profile: string;
  createdAt: Date;
  postsCount: number;
}

export interface VolumePlan {
  users: VolumeUser[];
  /** For each post, in id order, the index of its author in `users`. */
  authorOf: Int32Array;
}

/** When post `i` of `total` was written: spread evenly over the timeline, oldest first. */
export function postCreatedAtMs(i: number, total: number): number {
  const slot = (TIMELINE_END_MS - TIMELINE_START_MS) / total;
  // A cheap integer hash of i as the jitter inside its slot: no state, same for every run.
  const jitter = ((Math.imul(i + 1, 2654435761) >>> 0) / 4294967296) * slot;
  return Math.floor(TIMELINE_START_MS + i * slot + jitter);
}

/** Who wrote which post: a skewed distribution, a few authors writing a large share. */
function assignAuthors(seed: string, userCount: number, postCount: number): Int32Array {
  const random = streamFor(seed, 'authors');
  const order = Int32Array.from({ length: userCount }, (_, i) => i);
  for (let i = userCount - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    const swap = order[i]!;
    order[i] = order[j]!;
    order[j] = swap;
  }
  const authors = Math.max(1, Math.round(userCount * AUTHOR_SHARE));
  const authorOf = new Int32Array(postCount);
  for (let i = 0; i < postCount; i++) {
    const r = random.next();
    // r² puts most of the mass on the first few authors (the first ~1/√authors of it).
    authorOf[i] = order[Math.floor(authors * r * r)]!;
  }
  return authorOf;
}

const capitalize = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1);

function bioFor(random: Random): string {
  if (random.chance(0.2)) return '';
  return random.pick(BIO_TEMPLATES).replace('{a}', random.pick(INTERESTS)).replace('{b}', random.pick(INTERESTS));
}

function profileFor(random: Random, first: string, last: string, username: string): string {
  const links: string[] = [];
  if (random.chance(0.3)) links.push(`"website"=>"https://${first}-${last}.example.com"`);
  if (random.chance(0.15)) links.push(`"github"=>"https://github.example.com/${username}"`);
  return links.join(', ');
}

function makeUser(random: Random, index: number, firstPostMs: number | undefined, postsCount: number): VolumeUser {
  const first = random.pick(FIRST_NAMES);
  const last = random.pick(LAST_NAMES);
  const username = `${VOLUME_USERNAME_PREFIX}${first}_${last}${index + 1}`;
  const span = TIMELINE_END_MS - TIMELINE_START_MS;
  const createdAtMs =
    firstPostMs === undefined
      ? TIMELINE_START_MS + Math.floor(random.next() * span)
      : firstPostMs - Math.floor(HOUR_MS + random.next() * 60 * DAY_MS);
  return {
    username,
    email: `${first}.${last}${index + 1}@${VOLUME_EMAIL_DOMAIN}`,
    displayName: `${capitalize(first)} ${capitalize(last)}`,
    bio: bioFor(random),
    profile: profileFor(random, first, last, username),
    createdAt: new Date(createdAtMs),
    postsCount,
  };
}

/** The users, each with the exact number of posts the plan gives them. */
export function planVolume(seed: string, userCount: number, postCount: number): VolumePlan {
  const authorOf = assignAuthors(seed, userCount, postCount);
  const counts = new Int32Array(userCount);
  const firstPost = new Int32Array(userCount).fill(-1);
  for (let i = 0; i < postCount; i++) {
    const author = authorOf[i]!;
    if (counts[author] === 0) firstPost[author] = i;
    counts[author]!++;
  }
  const random = streamFor(seed, 'users');
  const users = Array.from({ length: userCount }, (_, u) => {
    const first = firstPost[u]!;
    return makeUser(random, u, first < 0 ? undefined : postCreatedAtMs(first, postCount), counts[u]!);
  });
  return { users, authorOf };
}

/** COPY text format: the four characters that would end or break a field, escaped. */
export function copyEscape(value: string): string {
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** One users line of COPY text (columns as USER_COLUMNS). */
export function userLine(user: VolumeUser, id: number, passwordHash: string): string {
  const at = user.createdAt.toISOString();
  return (
    [
      id,
      user.username,
      user.email,
      copyEscape(passwordHash),
      copyEscape(user.displayName),
      copyEscape(user.bio),
      'member',
      user.postsCount,
      copyEscape(user.profile),
      at,
      at,
      // Volume accounts are confirmed, as if each had followed its link when it joined.
      at,
    ].join('\t') + '\n'
  );
}

export const USER_COLUMNS =
  'id, username, email, password_hash, display_name, bio, role, posts_count, profile, created_at, updated_at, email_confirmed_at';
export const POST_COLUMNS =
  'id, author_id, title, body, published, published_at, created_at, updated_at, comments_count';
/** POST_COLUMNS and the search vector, for a load that brings the vectors itself. */
export const POST_COLUMNS_WITH_VECTOR = `${POST_COLUMNS}, search_vector`;

const NL = '\n';
const BLANK = NL + NL;

function sentence(random: Random): string {
  const length = random.int(6, 16);
  const words: string[] = [];
  for (let i = 0; i < length; i++) words.push(random.pick(WORDS));
  if (random.chance(0.15)) {
    const i = random.int(1, length - 1);
    words[i] = random.chance(0.5) ? `**${words[i]}**` : `*${words[i]}*`;
  }
  if (random.chance(0.06)) {
    words.push(`([more](https://${random.pick(LINK_HOSTS)}/${random.pick(WORDS)}-${random.int(1, 999)}))`);
  }
  return capitalize(words.join(' ')) + (random.chance(0.1) ? '?' : '.');
}

/** Pre-built pieces the bodies are assembled from: generating every word per post is too slow. */
interface ContentPool {
  paragraphs: string[];
  lists: string[];
  codeBlocks: string[];
}

function buildPool(random: Random): ContentPool {
  const paragraphs = Array.from({ length: PARAGRAPH_POOL }, () => {
    const count = random.int(1, 3);
    const sentences: string[] = [];
    for (let i = 0; i < count; i++) sentences.push(sentence(random));
    return sentences.join(' ');
  });
  const lists = Array.from({ length: 300 }, () => {
    const items: string[] = [];
    for (let i = random.int(3, 6); i > 0; i--) items.push(`- ${capitalize(random.pick(WORDS))} ${random.pick(WORDS)}`);
    return items.join(NL);
  });
  const codeBlocks = Array.from({ length: 100 }, () => {
    const snippet = random.pick(CODE_SNIPPETS);
    return '```' + random.pick(LANGUAGES) + NL + snippet + NL + '```';
  });
  return { paragraphs, lists, codeBlocks };
}

/** Markdown of varied length: mostly a few paragraphs, sometimes a long piece with extras. */
function body(random: Random, pool: ContentPool): string {
  const r = random.next();
  const paragraphs = r < 0.65 ? random.int(1, 2) : r < 0.93 ? random.int(3, 4) : random.int(5, 9);
  const parts: string[] = [];
  for (let i = 0; i < paragraphs; i++) {
    if (i > 0 && paragraphs > 2 && random.chance(0.12)) {
      parts.push(`## ${capitalize(random.pick(WORDS))} ${random.pick(WORDS)}`);
    }
    parts.push(random.pick(pool.paragraphs));
    if (random.chance(0.06)) parts.push(random.pick(pool.lists));
    if (paragraphs > 2 && random.chance(0.05)) parts.push(random.pick(pool.codeBlocks));
  }
  return parts.join(BLANK);
}

function title(random: Random): string {
  return `${random.pick(TITLE_OPENERS)} ${random.pick(WORDS)} ${random.pick(WORDS)}${random.pick(TITLE_SUFFIXES)}`;
}

export interface VolumePost {
  id: number;
  authorId: number;
  title: string;
  body: string;
  published: boolean;
  publishedAtMs: number | null;
  createdAtMs: number;
  updatedAtMs: number;
  commentsCount: number;
}

/**
 * The posts in id order, `chunkRows` a chunk. `commentCounts[i]`: how many comments the
 * i-th post will have if it is published (none when it is a draft: drafts take none).
 */
export function* postChunks(
  seed: string,
  plan: VolumePlan,
  firstUserId: number,
  firstPostId: number,
  chunkRows: number,
  commentCounts?: Int32Array,
): Generator<VolumePost[]> {
  const random = streamFor(seed, 'posts');
  const pool = buildPool(streamFor(seed, 'content'));
  const total = plan.authorOf.length;
  for (let start = 0; start < total; start += chunkRows) {
    const end = Math.min(total, start + chunkRows);
    const posts: VolumePost[] = [];
    for (let i = start; i < end; i++) {
      const createdAtMs = postCreatedAtMs(i, total);
      // The order of the draws is part of what a SEED means: keep it.
      const published = random.chance(PUBLISHED_SHARE);
      const postTitle = title(random);
      const postBody = body(random, pool);
      const publishedAtMs = published ? createdAtMs + random.int(5 * 60_000, 6 * HOUR_MS) : null;
      posts.push({
        id: firstPostId + i,
        authorId: firstUserId + plan.authorOf[i]!,
        title: postTitle,
        body: postBody,
        published,
        publishedAtMs,
        createdAtMs,
        updatedAtMs: publishedAtMs ?? createdAtMs + random.int(0, 3 * DAY_MS),
        commentsCount: published ? (commentCounts?.[i] ?? 0) : 0,
      });
    }
    yield posts;
  }
}

// One writer for every chunk: take() copies each chunk out of it.
const rowsWriter = new BinaryCopyWriter(4 << 20);

/**
 * Binary COPY rows (no header or trailer) of `posts`, columns as POST_COLUMNS, and with
 * `vectors` (binary COPY fields, one a post, in order) one more column, the search vector.
 */
export function postRows(posts: readonly VolumePost[], vectors?: Buffer): Buffer {
  const out = rowsWriter;
  let next = 0;
  for (const post of posts) {
    out.row(vectors ? 10 : 9);
    out.int4(post.id);
    out.int4(post.authorId);
    out.text(post.title);
    out.text(post.body);
    out.bool(post.published);
    if (post.publishedAtMs === null) out.null();
    else out.timestamp(post.publishedAtMs);
    out.timestamp(post.createdAtMs);
    out.timestamp(post.updatedAtMs);
    out.int4(post.commentsCount);
    if (vectors) {
      if (next + 4 > vectors.length) throw new Error(`Fewer search vectors than posts (${posts.length})`);
      const end = next + 4 + vectors.readInt32BE(next);
      out.field(vectors.subarray(next, end));
      next = end;
    }
  }
  if (vectors && next !== vectors.length) throw new Error(`More search vectors than posts (${posts.length})`);
  return out.take();
}
