// What the volume seeder is asked to do, read from the environment and checked before the
// database is touched at all.

export interface VolumeOptions {
  users: number;
  posts: number;
  /** About how many comments to add under the published posts (0: none). */
  comments: number;
  /** How many tags the posts carry, 0 to 3 each (0: none). */
  tags: number;
  seed: string;
}

const DEFAULT_USERS = 1000;
const DEFAULT_POSTS = 20_000;
// Usernames carry the user's number: 7 digits keep them within 30 characters.
const MAX_USERS = 1_000_000;
const MAX_POSTS = 50_000_000;
const MAX_COMMENTS = 100_000_000;
const MAX_TAGS = 10_000;

function readCount(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) {
    throw new Error(`${name} must be between ${min} and ${max.toLocaleString('en-US')}, got ${raw}`);
  }
  return value;
}

/** Throws, with a message meant for the admin, when the run must not happen. */
export function assertAllowed(env: NodeJS.ProcessEnv): void {
  if (env.NODE_ENV === 'production' && env.SEED_FORCE !== '1') {
    throw new Error(
      'Refusing to run the volume seeder with NODE_ENV=production: it writes or deletes thousands of ' +
        'made-up accounts. Set SEED_FORCE=1 if this really is what you want.',
    );
  }
}

export function readOptions(env: NodeJS.ProcessEnv): VolumeOptions {
  assertAllowed(env);
  return {
    users: readCount(env, 'SEED_USERS', DEFAULT_USERS, 1, MAX_USERS),
    posts: readCount(env, 'SEED_POSTS', DEFAULT_POSTS, 0, MAX_POSTS),
    comments: readCount(env, 'SEED_COMMENTS', 0, 0, MAX_COMMENTS),
    tags: readCount(env, 'SEED_TAGS', 0, 0, MAX_TAGS),
    seed: env.SEED?.trim() || '1',
  };
}

/**
 * `db:seed:all` (and the app's runner given every seeder) runs this one too: there, it adds
 * volume data only when a size is asked for explicitly, so that seeding the demo data stays
 * what it was. Named on the command line (`db:seed --seed <this file>`), it always runs.
 */
export function skippedUnlessAsked(seederName: string, argv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  const named = argv.some((arg) => arg.includes(seederName));
  return !named && env.SEED_USERS === undefined && env.SEED_POSTS === undefined;
}
