import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseHighlighted, phraseCandidates, plainPassage } from '../../src/services/post-search.js';

describe('parseHighlighted', () => {
  test('marked words › pieces with mark set, the rest plain, whitespace collapsed', () => {
    assert.deepEqual(parseHighlighted('A \uE000quiet\uE001\n\n\uE000morning\uE001 walk '), [
      { text: 'A ', mark: false },
      { text: 'quiet', mark: true },
      { text: ' ', mark: false },
      { text: 'morning', mark: true },
      { text: ' walk', mark: false },
    ]);
  });

  test('markup in the text › stays text, never becomes a mark', () => {
    assert.deepEqual(parseHighlighted('<script>\uE000alert\uE001</script>'), [
      { text: '<script>', mark: false },
      { text: 'alert', mark: true },
      { text: '</script>', mark: false },
    ]);
  });

  test('a Markdown passage › the words its syntax decorates', () => {
    assert.deepEqual(
      parseHighlighted(plainPassage('## Notes\n\nA **\uE000bold\uE001** `x` ([more](https://example.net/a-1)).')),
      [
        { text: 'Notes A ', mark: false },
        { text: 'bold', mark: true },
        { text: ' x (more).', mark: false },
      ],
    );
  });

  test('no match › one plain piece; empty text › no piece', () => {
    assert.deepEqual(parseHighlighted('plain text'), [{ text: 'plain text', mark: false }]);
    assert.deepEqual(parseHighlighted(''), []);
  });
});

describe('phraseCandidates', () => {
  test('a phrase › all its words', () => {
    assert.equal(phraseCandidates("'quiet' <-> 'morn'"), "'quiet' & 'morn'");
    assert.equal(phraseCandidates("'state-of-the-art' <-> 'state' <3> 'art'"), "'state-of-the-art' & 'state' & 'art'");
  });

  test('a phrase beside other words › only the phrase loosened', () => {
    assert.equal(phraseCandidates("'quiet' <-> 'morn' | 'budget'"), "'quiet' & 'morn' | 'budget'");
  });

  test('no phrase › undefined, also when a lexeme itself holds <->', () => {
    assert.equal(phraseCandidates("'budget' & 'week'"), undefined);
    assert.equal(phraseCandidates("'a<->b'"), undefined);
    // querytree's answer when no part of the query can use the index (only negations).
    assert.equal(phraseCandidates('T'), undefined);
  });

  test('a quoted lexeme holding an operator › left as it is', () => {
    assert.equal(phraseCandidates("'x<->y' <-> 'z'"), "'x<->y' & 'z'");
    assert.equal(phraseCandidates("'it''s' <-> 'z'"), "'it''s' & 'z'");
  });
});
