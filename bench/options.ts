// The one options convention of the bench scripts: `--some-flag value`, else the environment
// variable named beside it, else the default; `--help` prints the list.
import { parseArgs } from 'node:util';

type Spec = { env: string; help: string } & (
  { min: number; max: number; fallback?: number } | { choices?: readonly string[]; pattern?: RegExp }
);

type Value<S> = S extends { fallback: number }
  ? number
  : S extends { min: number }
    ? number | undefined
    : string | undefined;

export type Options<T> = { [K in keyof T]: Value<T[K]> };

const flagOf = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

let usageText = '';

/** Bad input: the message and the usage on stderr, exit code 2. */
export function usageError(message: string): never {
  console.error(`${message}\n\n${usageText}`);
  process.exit(2);
}

/** Reads `specs` from process.argv and process.env; exits on --help (0) or bad input (2). */
export function readOptions<const T extends Record<string, Spec>>(usage: string, specs: T): Options<T> {
  const lines = Object.entries(specs).map(([key, spec]) => {
    const flag = `--${flagOf(key)}${'min' in spec ? ' N' : ' VALUE'}`;
    const fallback = 'fallback' in spec && spec.fallback !== undefined ? ` (default ${spec.fallback})` : '';
    return `  ${flag.padEnd(22)} ${spec.env.padEnd(22)} ${spec.help}${fallback}`;
  });
  usageText = `${usage}\n\nOptions (flag, or environment variable):\n${lines.join('\n')}\n  --help                 this text`;
  let flags: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(Object.keys(specs).map((key) => [flagOf(key), { type: 'string' as const }]));
    flags = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
  } catch (error) {
    usageError(error instanceof Error ? error.message : String(error));
  }
  if (flags.help) {
    console.log(usageText);
    process.exit(0);
  }
  const values: Record<string, string | number | undefined> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const raw = (flags[flagOf(key)] as string | undefined) ?? process.env[spec.env]?.trim();
    const name = `--${flagOf(key)} (${spec.env})`;
    if (raw === undefined || raw === '') {
      values[key] = 'fallback' in spec ? spec.fallback : undefined;
    } else if ('min' in spec) {
      if (!/^\d+$/.test(raw) || Number(raw) < spec.min || Number(raw) > spec.max) {
        usageError(`${name} must be a whole number from ${spec.min} to ${spec.max}, got "${raw}"`);
      }
      values[key] = Number(raw);
    } else {
      if (spec.choices && !spec.choices.includes(raw)) usageError(`${name} must be one of ${spec.choices.join(', ')}`);
      if (spec.pattern && !spec.pattern.test(raw)) usageError(`${name} must match ${String(spec.pattern)}`);
      values[key] = raw;
    }
  }
  return values as Options<T>;
}

/** The sizes every script seeds, with its own defaults. */
export const sizes = (users: number, posts: number) =>
  ({
    users: { env: 'SEED_USERS', help: 'volume users to seed', min: 1, max: 1_000_000, fallback: users },
    posts: { env: 'SEED_POSTS', help: 'volume posts to seed', min: 100, max: 50_000_000, fallback: posts },
  }) as const;
