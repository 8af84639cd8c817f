// Time for tests: sleep, a monotonic clock, and polling until something holds.
import { performance } from 'node:perf_hooks';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
export const now = (): number => performance.now();

/** Polls `check` every `everyMs` until it returns a value other than undefined; throws after `withinMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  options: { withinMs: number; everyMs?: number },
): Promise<T> {
  const deadline = now() + options.withinMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (now() > deadline) throw new Error(`timed out after ${options.withinMs} ms waiting for ${what}`);
    await sleep(options.everyMs ?? 50);
  }
}
