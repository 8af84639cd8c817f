import { LRUCache } from 'lru-cache';

// The machine that took a session's write may have a clock a little ahead of this one's.
const CLOCK_SKEW_MS = 1_000;

interface Entry {
  /** When the read started, by this process's clock. */
  readAt: number;
  value: Promise<unknown>;
}

export interface SharedReads {
  /**
   * `load()`'s answer for `key`, or the one a read started within `ttlMs` gave, unless that
   * read may not show the session's last write (committed by `wroteAt`).
   */
  read<T>(key: string, wroteAt: number | undefined, load: () => Promise<T>): Promise<T>;
}

/**
 * Reads that every visitor gets alike (the published posts, newest first), made at most once
 * per `ttlMs` per process and key, the answer handed to the requests in between: logged-in
 * ones too, whose pages the page cache cannot keep (they carry a name and a CSRF token).
 * Someone else's change reaches them up to `ttlMs` late, as it reaches anonymous visitors.
 * A session that wrote gets its own reads fresh until the shared ones all started after its
 * write: an author sees their change at once. Concurrent requests for one key share one read;
 * a failed read is not kept. `ttlMs` 0 turns it off. Bounded: `max` keys, least recently used
 * out first.
 */
export function createSharedReads(options: { ttlMs: number; max?: number }): SharedReads {
  if (options.ttlMs <= 0) return { read: (_key, _wroteAt, load) => load() };
  const entries = new LRUCache<string, Entry>({ max: options.max ?? 1_000, ttl: options.ttlMs, allowStale: false });
  return {
    read<T>(key: string, wroteAt: number | undefined, load: () => Promise<T>): Promise<T> {
      const kept = entries.get(key);
      if (kept && (wroteAt === undefined || kept.readAt - wroteAt > CLOCK_SKEW_MS)) return kept.value as Promise<T>;
      const entry: Entry = { readAt: Date.now(), value: load() };
      entries.set(key, entry);
      entry.value.catch(() => {
        if (entries.get(key) === entry) entries.delete(key);
      });
      return entry.value as Promise<T>;
    },
  };
}
