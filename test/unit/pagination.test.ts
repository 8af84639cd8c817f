import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NotFoundError } from '../../src/errors.js';
import {
  containsPattern,
  keysetPage,
  MAX_PAGE,
  numberedPage,
  offsetFor,
  PAGE_FETCH,
  PAGE_SIZE,
  POST_CURSOR,
  USERNAME_CURSOR,
} from '../../src/services/pagination.js';

/** Items 1, 2, 3… stand for a list's rows; an item's cursor is its number behind a "c". */
const range = (from: number, to: number): number[] =>
  Array.from({ length: Math.abs(to - from) + 1 }, (_, i) => (from <= to ? from + i : from - i));
const cursorOf = (n: number): string => `c${n}`;
const noSuchPage = { name: 'NotFoundError', status: 404, message: 'There is no such page.' };

// The service writes a post's cursor in SQL (micros || '-' || id) and reads it back with POST_CURSOR.
const encodeCursor = (micros: bigint, id: number): string => `${micros}-${id}`;
const decodeCursor = (cursor: string): { micros: bigint; id: number } | undefined => {
  const match = POST_CURSOR.exec(cursor);
  return match ? { micros: BigInt(match[1]!), id: Number(match[2]) } : undefined;
};

describe('the sizes', () => {
  test('a page › shows 20, fetches 21, and numbers stop at 50', () => {
    assert.equal(PAGE_SIZE, 20);
    assert.equal(PAGE_FETCH, PAGE_SIZE + 1);
    assert.equal(MAX_PAGE, 50);
  });
});

describe('POST_CURSOR', () => {
  test('a cursor written from a timestamp and an id › reads back to the same values', () => {
    const micros = BigInt(Date.UTC(2026, 10, 21, 12, 30, 15, 123)) * 1000n + 456n;
    assert.equal(encodeCursor(micros, 42), '1795264215123456-42');
    assert.deepEqual(decodeCursor(encodeCursor(micros, 42)), { micros, id: 42 });
  });

  test('the epoch and the first id › accepted', () => {
    assert.deepEqual(decodeCursor('0-1'), { micros: 0n, id: 1 });
  });

  test('16-digit microseconds and a 10-digit id › accepted, digit for digit', () => {
    // Past Number.MAX_SAFE_INTEGER: the captured text must not be rounded on its way to SQL.
    const match = POST_CURSOR.exec('9999999999999999-9999999999');
    assert.deepEqual([match?.[1], match?.[2]], ['9999999999999999', '9999999999']);
    assert.deepEqual(decodeCursor('9999999999999999-9999999999'), {
      micros: 9999999999999999n,
      id: 9999999999,
    });
  });

  test('one digit too many on either side › refused', () => {
    assert.equal(POST_CURSOR.test('10000000000000000-1'), false);
    assert.equal(POST_CURSOR.test('1-10000000000'), false);
  });

  test('leading zeros or an id of 0 › refused, so that each position has one spelling', () => {
    for (const cursor of ['00-1', '01-1', '1-01', '1-0', '0-0', '0-00']) {
      assert.equal(POST_CURSOR.test(cursor), false, cursor);
    }
  });

  test('negative numbers › refused', () => {
    for (const cursor of ['-1-1', '1--1', '-0-1', '-1']) {
      assert.equal(POST_CURSOR.test(cursor), false, cursor);
    }
  });

  test('garbage › refused', () => {
    const garbage = [
      '',
      '1',
      '1-',
      '-',
      'a-1',
      '1-a',
      '1.5-1',
      '1e3-1',
      '1-1-1',
      '1_1',
      ' 1-1',
      '1-1 ',
      '1-1\n',
      '0x1-1',
      '１-1',
      '1-1&after=2-2',
    ];
    for (const cursor of garbage) assert.equal(decodeCursor(cursor), undefined, JSON.stringify(cursor));
  });
});

describe('USERNAME_CURSOR', () => {
  test('a username of 3 to 30 of a-z, 0-9 and _ › accepted', () => {
    for (const cursor of ['ann', 'a_1', '___', 'z'.repeat(30), '0123456789']) {
      assert.equal(USERNAME_CURSOR.test(cursor), true, cursor);
    }
  });

  test('too short, too long, capitals, other characters › refused', () => {
    for (const cursor of ['', 'ab', 'z'.repeat(31), 'Ann', 'ann-b', 'ann b', 'anné', 'ann\n', '1-1']) {
      assert.equal(USERNAME_CURSOR.test(cursor), false, JSON.stringify(cursor));
    }
  });
});

describe('offsetFor', () => {
  test('no page, page 1, or a cursor › offset 0', () => {
    assert.equal(offsetFor({}), 0);
    assert.equal(offsetFor({ page: 1 }), 0);
    assert.equal(offsetFor({ after: '1-1' }), 0);
    assert.equal(offsetFor({ before: 'ann' }), 0);
  });

  test('page N › skips the N - 1 pages before it', () => {
    assert.equal(offsetFor({ page: 2 }), 20);
    assert.equal(offsetFor({ page: 3 }), 40);
    assert.equal(offsetFor({ page: MAX_PAGE }), 980);
  });
});

describe('keysetPage', () => {
  test('the first page with more to follow › 20 items and a next cursor after the last', () => {
    const page = keysetPage(range(1, 21), {}, cursorOf);
    assert.deepEqual(page.items, range(1, 20));
    assert.equal(page.previous, undefined);
    assert.deepEqual(page.next, { after: 'c20' });
    assert.equal(page.label, undefined);
  });

  test('the first page holding exactly 20 › no next page', () => {
    const page = keysetPage(range(1, 20), {}, cursorOf);
    assert.deepEqual(page.items, range(1, 20));
    assert.equal(page.previous, undefined);
    assert.equal(page.next, undefined);
  });

  test('an empty first page › an empty list, not a 404', () => {
    assert.deepEqual(keysetPage([], {}, cursorOf), { items: [], previous: undefined, next: undefined });
    assert.deepEqual(keysetPage([], { page: 1 }, cursorOf), { items: [], previous: undefined, next: undefined });
  });

  test('after a cursor, with more to follow › a previous cursor before the first and a next after the last', () => {
    const page = keysetPage(range(21, 41), { after: 'c20' }, cursorOf);
    assert.deepEqual(page.items, range(21, 40));
    assert.deepEqual(page.previous, { before: 'c21' });
    assert.deepEqual(page.next, { after: 'c40' });
  });

  test('after a cursor, at the end of the list › a previous cursor and no next', () => {
    const page = keysetPage(range(21, 25), { after: 'c20' }, cursorOf);
    assert.deepEqual(page.items, range(21, 25));
    assert.deepEqual(page.previous, { before: 'c21' });
    assert.equal(page.next, undefined);
  });

  test('before a cursor, with more before it › the rows put back in list order, both links', () => {
    // Paging backwards, the rows arrive nearest the cursor first.
    const rows = range(29, 9);
    const page = keysetPage(rows, { before: 'c30' }, cursorOf);
    assert.deepEqual(page.items, range(10, 29));
    assert.deepEqual(page.previous, { before: 'c10' });
    assert.deepEqual(page.next, { after: 'c29' });
    assert.deepEqual(rows, range(29, 9), 'the rows given are left as they were');
  });

  test('before a cursor, reaching the start of the list › no previous, a next after the last', () => {
    const page = keysetPage(range(5, 1), { before: 'c6' }, cursorOf);
    assert.deepEqual(page.items, range(1, 5));
    assert.equal(page.previous, undefined);
    assert.deepEqual(page.next, { after: 'c5' });
  });

  test('a numbered page past the first, read with the keyset › a previous cursor before its first item', () => {
    const page = keysetPage(range(21, 23), { page: 2 }, cursorOf);
    assert.deepEqual(page.items, range(21, 23));
    assert.deepEqual(page.previous, { before: 'c21' });
    assert.equal(page.next, undefined);
  });

  test('an empty page after, before or past page 1 › NotFoundError (404)', () => {
    assert.throws(() => keysetPage([], { after: 'c20' }, cursorOf), NotFoundError);
    assert.throws(() => keysetPage([], { after: 'c20' }, cursorOf), noSuchPage);
    assert.throws(() => keysetPage([], { before: 'c1' }, cursorOf), noSuchPage);
    assert.throws(() => keysetPage([], { page: 2 }, cursorOf), noSuchPage);
  });
});

describe('numberedPage', () => {
  test('page 1, all rows fit › items only, no links and no label', () => {
    assert.deepEqual(numberedPage(range(1, 5), 1), {
      items: range(1, 5),
      previous: undefined,
      next: undefined,
      label: undefined,
    });
  });

  test('page 1 with more to follow › 20 items, next is page 2, labelled "Page 1"', () => {
    assert.deepEqual(numberedPage(range(1, 21), 1), {
      items: range(1, 20),
      previous: undefined,
      next: { page: 2 },
      label: 'Page 1',
    });
  });

  test('page 2 › previous is the first page as {} (no ?page=1)', () => {
    assert.deepEqual(numberedPage(range(21, 23), 2), {
      items: range(21, 23),
      previous: {},
      next: undefined,
      label: 'Page 2',
    });
  });

  test('page 3 with more to follow › previous page 2, next page 4', () => {
    const page = numberedPage(range(41, 61), 3);
    assert.deepEqual(page.previous, { page: 2 });
    assert.deepEqual(page.next, { page: 4 });
    assert.equal(page.label, 'Page 3');
  });

  test('the last page number › no next page, even with more rows', () => {
    assert.deepEqual(numberedPage(range(1, 21), MAX_PAGE - 1).next, { page: MAX_PAGE });
    const last = numberedPage(range(1, 21), MAX_PAGE);
    assert.equal(last.next, undefined);
    assert.deepEqual(last.previous, { page: MAX_PAGE - 1 });
    assert.equal(last.label, 'Page 50');
  });

  test('an empty page 1 › an empty list; an empty later page › NotFoundError (404)', () => {
    assert.deepEqual(numberedPage([], 1), { items: [], previous: undefined, next: undefined, label: undefined });
    assert.throws(() => numberedPage([], 2), noSuchPage);
  });
});

describe('containsPattern', () => {
  test('plain text › wrapped in %', () => {
    assert.equal(containsPattern('ann'), '%ann%');
    assert.equal(containsPattern(''), '%%');
  });

  test('LIKE wildcards and the escape character › matched literally', () => {
    assert.equal(containsPattern('50%_off'), '%50\\%\\_off%');
    assert.equal(containsPattern('a\\b'), '%a\\\\b%');
    assert.equal(containsPattern('%%'), '%\\%\\%%');
  });
});
