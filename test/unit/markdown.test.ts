import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderMarkdown, toExcerpt } from '../../src/markdown.js';

describe('renderMarkdown', () => {
  test('Markdown › HTML', () => {
    const html = renderMarkdown('# Title\n\n- one\n- two\n\n```js\nlet x = 1;\n```\n\n> quoted');
    assert.match(html, /<h1>Title<\/h1>/);
    assert.match(html, /<li>one<\/li>/);
    assert.match(html, /<code class="language-js">let x = 1;/);
    assert.match(html, /<blockquote>/);
  });

  const attacks: [string, RegExp][] = [
    ['<script>alert(1)</script>', /<script/i],
    ['<img src=x onerror=alert(1)>', /onerror/i],
    ['[click](javascript:alert(1))', /javascript:/i],
    ['<a href="JaVaScRiPt:alert(1)">x</a>', /javascript:/i],
    ['<svg><script>alert(1)</script></svg>', /<svg|<script/i],
    ['<iframe src="https://evil.example"></iframe>', /<iframe/i],
    ['<p style="position:fixed">x</p>', /style=/i],
    ['<a href="https://example.com" onclick="steal()">x</a>', /onclick/i],
    ['![x](data:text/html;base64,PHNjcmlwdD4=)', /data:/i],
  ];
  for (const [source, forbidden] of attacks) {
    test(`${source} › nothing executable survives`, () => {
      assert.doesNotMatch(renderMarkdown(source), forbidden);
    });
  }

  test('links › get rel="nofollow noopener noreferrer", whatever rel the author wrote', () => {
    const html = renderMarkdown('[a](https://example.com) <a href="https://example.org" rel="author">b</a>');
    assert.equal(html.match(/rel="nofollow noopener noreferrer"/g)?.length, 2);
    assert.doesNotMatch(html, /rel="author"/);
  });
});

describe('toExcerpt', () => {
  test('Markdown syntax › plain text', () => {
    assert.equal(toExcerpt('## Hello\n\n**bold** and [a link](https://x.example)'), 'Hello bold and a link');
  });

  test('long text › cut at a word boundary with an ellipsis', () => {
    const excerpt = toExcerpt('word '.repeat(100), 50);
    assert.ok(excerpt.length <= 51);
    assert.ok(excerpt.endsWith('word…'));
  });
});

test('toExcerpt › drops raw HTML tags', () => {
  assert.equal(toExcerpt('**bold** <img src=x onerror=alert(1)> text'), 'bold text');
});
