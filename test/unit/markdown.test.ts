import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderMarkdown, toExcerpt } from '../../src/rendering/markdown.js';

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

  const asWritten: [string, string, string][] = [
    ['< and >', 'x < 10 and y > 3', 'x < 10 and y > 3'],
    ['_ and - inside words', 'snake_case and well-known, a - b', 'snake_case and well-known, a - b'],
    ['a code span', 'Use `a<b && c>d` or `**not bold**`', 'Use a<b && c>d or **not bold**'],
    ['a link', 'See [the **docs**](https://x.example/a_b) now', 'See the docs now'],
    ['an autolink', 'Go to https://x.example/snake_case?a=1&b=2', 'Go to https://x.example/snake_case?a=1&b=2'],
    ['an image', 'Look: ![a *red* cat](https://x.example/cat.png) here', 'Look: a red cat here'],
    ['emphasis, strong and strikethrough', '*one* __two__ ~~three~~ _four_', 'one two three four'],
    ['backslash escapes', '\\_not em\\_ \\*x\\* \\# \\<b\\>', '_not em_ *x* # <b>'],
    ['named and numeric references', 'AT&amp;T &copy; &frac34; &lt;b&gt; &#35; &#x41;', 'AT&T © ¾ <b> # A'],
    ['an unknown reference or a bare &', 'a &foo; b & c &copy d', 'a &foo; b & c &copy d'],
    ['an escaped &', '\\&amp; stays', '&amp; stays'],
    ['headings', '# One\n\nTwo\n===\n\n### Three ###', 'One Two Three'],
    ['lists', '- one\n- [x] two\n  - nested\n\n3. three', 'one two nested three'],
    ['a blockquote', '> quoted *text*\n> more', 'quoted text more'],
    ['a table', '| a | b |\n|---|:-:|\n| 1 | `\\|` |', 'a b 1 |'],
    ['a code block', 'Run:\n\n```sh\nnpm  run <task>\n```\n\n    indented_code', 'Run: npm run <task> indented_code'],
    ['a hard break and a rule', 'one  \ntwo\n\n---\n\nthree', 'one two three'],
    ['Windows line ends', 'Title\r\n=====\r\n\r\nText\r\nmore', 'Title Text more'],
  ];
  for (const [situation, source, expected] of asWritten) {
    test(`${situation} › the text as written, without markup`, () => {
      assert.equal(toExcerpt(source), expected);
    });
  }

  test('inline HTML › tags dropped; text kept; words split only by non-inline tags', () => {
    assert.equal(toExcerpt('<span>wo</span>rd <kbd>Ctrl</kbd>+<kbd>C</kbd> a<br>b'), 'word Ctrl+C a b');
  });

  test('an HTML block › its text without tags, comments or script content', () => {
    const source =
      '<div align="center">\n  <p>Intro &copy; <b>bo</b>ld</p><p>next</p>\n  <!-- a note -->\n</div>\n\nAfter';
    assert.equal(toExcerpt(source), 'Intro © bold next After');
  });

  test('script, style and textarea › their content is left out, as the sanitizer does', () => {
    assert.equal(
      toExcerpt(
        'Hello <script>alert("x < y")</script>world <style>p { color: red }</style>and <textarea>t</textarea>end',
      ),
      'Hello world and end',
    );
  });

  test('empty or blank input › an empty excerpt', () => {
    assert.equal(toExcerpt(''), '');
    assert.equal(toExcerpt(' \n\n\t\n'), '');
    assert.equal(toExcerpt('<!-- only a comment -->'), '');
  });

  test('a very long body › the same excerpt as its start', () => {
    const start = '## Intro\n\n' + 'A *long* sentence with `code` in it. '.repeat(20);
    const body = `${start}\n\n${'More words of a long body. '.repeat(40)}\n\n`.repeat(2000);
    assert.ok(body.length > 2_000_000);
    const excerpt = toExcerpt(body);
    assert.equal(excerpt, toExcerpt(start));
    assert.ok(excerpt.startsWith('Intro A long sentence with code in it.'));
    assert.ok(excerpt.length <= 241 && excerpt.endsWith('…'));
  });

  test('a long body with little text per character › still a full-length excerpt', () => {
    const link = `[word](https://x.example/${'x'.repeat(1000)})\n\n`;
    const excerpt = toExcerpt(link.repeat(400));
    assert.equal(excerpt, `${'word '.repeat(47)}word…`);
  });

  test('a long unbroken paragraph › cut at a word boundary with an ellipsis', () => {
    const excerpt = toExcerpt(`${'lorem_ipsum dolor-sit '.repeat(2_000)}[a link](https://x.example)`);
    assert.ok(excerpt.length <= 241 && excerpt.endsWith('…'), excerpt);
    assert.ok(excerpt.startsWith('lorem_ipsum dolor-sit lorem_ipsum'));
  });

  test('a long link where a shorter body would be cut › still its text alone', () => {
    const link = `[the link](https://x.example/${'x'.repeat(600)})`;
    const excerpt = toExcerpt(`Intro *words* here, then ${link} and ${'more words '.repeat(40)}`);
    assert.ok(excerpt.startsWith('Intro words here, then the link and more words'), excerpt);
  });

  test('a cut next to an emoji › never leaves half of it', () => {
    const excerpt = toExcerpt(`a${'😀'.repeat(300)}`);
    assert.doesNotMatch(excerpt, /[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    assert.ok(excerpt.endsWith('😀…'));
  });
});

test('toExcerpt › drops raw HTML tags', () => {
  assert.equal(toExcerpt('**bold** <img src=x onerror=alert(1)> text'), 'bold text');
});
