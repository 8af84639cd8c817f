import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { lexemesOf, parseCandidates, upperBound } from '../../src/services/search-candidates.js';

describe('parseCandidates', () => {
  test('one word › that lexeme', () => {
    assert.deepEqual(parseCandidates("'budget'"), { lexeme: "'budget'" });
  });

  test('a phrase › all its words, however far apart its operator puts them', () => {
    assert.deepEqual(parseCandidates("'quiet' <-> 'morn'"), { and: [{ lexeme: "'quiet'" }, { lexeme: "'morn'" }] });
    assert.deepEqual(parseCandidates("'state-of-the-art' <-> 'state' <3> 'art'"), {
      and: [{ lexeme: "'state-of-the-art'" }, { lexeme: "'state'" }, { lexeme: "'art'" }],
    });
  });

  test('& binds tighter than |, parentheses group', () => {
    assert.deepEqual(parseCandidates("'a' & 'b' | 'c'"), {
      or: [{ and: [{ lexeme: "'a'" }, { lexeme: "'b'" }] }, { lexeme: "'c'" }],
    });
    assert.deepEqual(parseCandidates("'a' & ( 'b' | 'c' )"), {
      and: [{ lexeme: "'a'" }, { or: [{ lexeme: "'b'" }, { lexeme: "'c'" }] }],
    });
  });

  test('quoted lexemes keep what is inside them, quotes and operators too', () => {
    assert.deepEqual(parseCandidates("'it''s' <-> 'x<->y'"), { and: [{ lexeme: "'it''s'" }, { lexeme: "'x<->y'" }] });
  });

  test('nothing the index can serve (querytree answers T: only negations) › undefined', () => {
    assert.equal(parseCandidates('T'), undefined);
    assert.equal(parseCandidates(''), undefined);
  });

  test('text that is no tsquery › an error, not a guess', () => {
    assert.throws(() => parseCandidates("'a' &"));
    assert.throws(() => parseCandidates("'a' ) 'b'"));
    assert.throws(() => parseCandidates("! 'a'"));
  });
});

describe('upperBound', () => {
  const holding: Record<string, number> = { "'get'": 56_000, "'start'": 57_000, "'onion'": 5, "'week'": 420_000 };
  const postsHolding = (lexeme: string): number => holding[lexeme]!;
  const bound = (indexed: string): number => upperBound(parseCandidates(indexed)!, postsHolding);

  test('an AND › its rarest part: words that always go together are not multiplied away', () => {
    assert.equal(bound("'get' <-> 'start'"), 56_000);
    assert.equal(bound("'onion' & 'week'"), 5);
  });

  test('an OR › its parts together', () => {
    assert.equal(bound("'onion' | 'get'"), 56_005);
    assert.equal(bound("'week' & ( 'onion' | 'get' )"), 56_005);
  });

  test('lexemesOf › each lexeme once', () => {
    assert.deepEqual(lexemesOf(parseCandidates("'get' & 'start' | 'get' & 'onion'")!), ["'get'", "'start'", "'onion'"]);
  });
});
