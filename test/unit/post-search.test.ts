import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseHighlighted, plainPassage } from '../../src/services/post-search.js';

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
