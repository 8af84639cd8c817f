// The processes under load on loopback: the app (the test kit's server process, src/server.ts
// in production mode on a free port) and ../shared/bench/reference-server.mjs, both stopped by
// the run's cleanup.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../test/support/ports.js';
import { type ServerEnv, type ServerProcess, startServer } from '../test/support/server.js';
import { waitFor } from '../test/support/wait.js';
import { type Cleanup, log, ROOT } from './support.js';

export const REFERENCE_SERVER = path.resolve(ROOT, '../shared/bench/reference-server.mjs');

/** Every request carries this: the app trusts one proxy hop and then sets Secure cookies. */
export const FORWARDED_HEADERS = { 'x-forwarded-proto': 'https' } as const;

export type App = ServerProcess & { origin: string };

/**
 * The app with the production defaults (`env` adds to them), logging warnings and errors
 * only; stopped by SIGTERM at cleanup, which reports an exit other than its orderly one.
 */
export async function startApp(url: string, cleanup: Cleanup, env: ServerEnv = {}): Promise<App> {
  const server = await startServer(url, {
    LOG_LEVEL: 'warn',
    PAGE_CACHE_MS: '1000',
    DB_ACQUIRE_TIMEOUT_MS: '5000',
    DB_CONNECT_TIMEOUT_MS: '5000',
    DB_STATEMENT_TIMEOUT_MS: '10000',
    ...env,
  });
  cleanup.add('stop the app', async () => {
    if (!server.isRunning()) return;
    server.child.kill('SIGTERM');
    const { code } = await server.exited;
    if (code !== 0) log(`the app exited with code ${code}:${server.tail(5)}`);
  });
  return Object.assign(server, { origin: `http://127.0.0.1:${server.port}` });
}

/** The app's warnings and errors by message, e.g. `warning “slow query” ×3 (up to 120 ms)`. */
export function loggedSummary(app: App): string {
  const groups = new Map<string, { count: number; maxMs?: number }>();
  for (const entry of app.logs()) {
    const level = Number(entry.level ?? 30);
    if (level < 40) continue;
    const key = `${level >= 50 ? 'error' : 'warning'} “${typeof entry.msg === 'string' ? entry.msg : '(no message)'}”`;
    const group = groups.get(key) ?? { count: 0 };
    group.count++;
    if (typeof entry.durationMs === 'number') group.maxMs = Math.max(group.maxMs ?? 0, entry.durationMs);
    groups.set(key, group);
  }
  if (groups.size === 0) return 'no warning and no error';
  return [...groups]
    .sort(([, a], [, b]) => b.count - a.count)
    .map(([key, g]) => `${key} ×${g.count}${g.maxMs === undefined ? '' : ` (up to ${Math.round(g.maxMs)} ms)`}`)
    .join(', ');
}

/** The reference server on the same database, with the app's pool size; its origin, or undefined when it is not there. */
export async function startReference(url: string, cleanup: Cleanup): Promise<string | undefined> {
  if (!fs.existsSync(REFERENCE_SERVER)) return undefined;
  const port = await freePort();
  const env = { ...process.env, DATABASE_URL: url, PORT: String(port), DB_POOL_MAX: '10' };
  const child = spawn(process.execPath, [REFERENCE_SERVER], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  cleanup.add('stop the reference server', async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await exited;
  });
  const origin = `http://127.0.0.1:${port}`;
  await waitFor(
    'the reference server to answer GET /posts',
    async () => {
      if (child.exitCode !== null) throw new Error(`the reference server exited with code ${child.exitCode}`);
      const res = await fetch(`${origin}/posts`).catch(() => undefined);
      await res?.arrayBuffer();
      return res?.ok ? true : undefined;
    },
    { withinMs: 60_000, everyMs: 100 },
  );
  return origin;
}
