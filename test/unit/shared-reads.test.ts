// Reads shared between requests for a moment: reused within the TTL, one read for concurrent
// requests, a failure never kept, and a session that just wrote always reads afresh.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { createSharedReads } from '../../src/services/shared-reads.js';

const TTL_MS = 200;

/** A load answering each of `values` in turn (the last one from then on), and how often it was called. */
function counting<T>(values: (() => Promise<T>)[]): { load: () => Promise<T>; calls: () => number } {
  let calls = 0;
  return { load: () => values[Math.min(calls++, values.length - 1)]!(), calls: () => calls };
}
const answer =
  <T>(value: T) =>
  (): Promise<T> =>
    Promise.resolve(value);

describe('shared reads', () => {
  test('within the TTL the first answer is reused; after it, read again', async () => {
    const shared = createSharedReads({ ttlMs: TTL_MS });
    const { load, calls } = counting([answer('first'), answer('second')]);
    assert.equal(await shared.read('k', undefined, load), 'first');
    assert.equal(await shared.read('k', undefined, load), 'first');
    assert.equal(calls(), 1);
    await sleep(TTL_MS + 50);
    assert.equal(await shared.read('k', undefined, load), 'second');
    assert.equal(calls(), 2);
  });

  test('keys are apart', async () => {
    const shared = createSharedReads({ ttlMs: TTL_MS });
    assert.equal(await shared.read('a', undefined, answer('a')), 'a');
    assert.equal(await shared.read('b', undefined, answer('b')), 'b');
  });

  test('concurrent requests share one read', async () => {
    const shared = createSharedReads({ ttlMs: TTL_MS });
    const { load, calls } = counting([() => sleep(30).then(() => 'slow')]);
    const answers = await Promise.all(Array.from({ length: 5 }, () => shared.read('k', undefined, load)));
    assert.deepEqual(answers, Array<string>(5).fill('slow'));
    assert.equal(calls(), 1);
  });

  test('a failed read is not kept: the next request reads again', async () => {
    const shared = createSharedReads({ ttlMs: TTL_MS });
    const { load, calls } = counting([() => Promise.reject(new Error('database down')), answer('back')]);
    await assert.rejects(shared.read('k', undefined, load), /database down/);
    assert.equal(await shared.read('k', undefined, load), 'back');
    assert.equal(calls(), 2);
  });

  test('a session that wrote reads afresh until a shared read started over a second after its write', async () => {
    const shared = createSharedReads({ ttlMs: 5_000 });
    const { load, calls } = counting([answer('before the write'), answer('after'), answer('later')]);
    assert.equal(await shared.read('k', undefined, load), 'before the write');
    const wroteAt = Date.now();
    assert.equal(await shared.read('k', wroteAt, load), 'after');
    // Its own fresh read is what others now get.
    assert.equal(await shared.read('k', undefined, load), 'after');
    // Past the margin for clocks (1 s), a read started then serves the writer too.
    await sleep(1_100);
    assert.equal(await shared.read('k', wroteAt, load), 'later');
    assert.equal(await shared.read('k', wroteAt, load), 'later');
    assert.equal(calls(), 3);
  });

  test('a TTL of 0 reads every time', async () => {
    const shared = createSharedReads({ ttlMs: 0 });
    const { load, calls } = counting([answer(1), answer(2)]);
    assert.equal(await shared.read('k', undefined, load), 1);
    assert.equal(await shared.read('k', undefined, load), 2);
    assert.equal(calls(), 2);
  });
});
