import assert from 'node:assert/strict';
import { test } from 'node:test';
import { timeAgo, viewHelpers } from '../../src/rendering/views.js';

const NOW = Date.UTC(2026, 10, 21, 12, 0, 0);
const ago = (seconds: number): Date => new Date(NOW - seconds * 1000);

test('timeAgo › readable relative forms for recent dates, the date itself for old ones', () => {
  assert.equal(timeAgo(ago(20), NOW), 'just now');
  assert.equal(timeAgo(ago(5 * 60), NOW), '5 minutes ago');
  assert.equal(timeAgo(ago(3 * 3600), NOW), '3 hours ago');
  assert.equal(timeAgo(ago(26 * 3600), NOW), 'yesterday');
  assert.equal(timeAgo(ago(4 * 86400), NOW), '4 days ago');
  assert.equal(timeAgo(ago(21 * 86400), NOW), '3 weeks ago');
  assert.equal(timeAgo(ago(90 * 86400), NOW), '23 Aug 2026');
});

test('timeTag › a <time> with the machine date, the full date on hover and the relative form', () => {
  const html = viewHelpers.timeTag(new Date(Date.UTC(2024, 1, 29, 8, 30)));
  assert.equal(html, '<time datetime="2024-02-29T08:30:00.000Z" title="29 Feb 2024">29 Feb 2024</time>');
  const recent = viewHelpers.timeTag(new Date(Date.now() - 5 * 60_000));
  assert.match(recent, /^<time datetime="[^"<>]+" title="[^"<>]+">5 minutes ago<\/time>$/);
});

test('highlighted › each text escaped, the marks the only elements', () => {
  assert.equal(
    viewHelpers.highlighted([
      { text: '<script>"x"&', mark: false },
      { text: '<b>bold</b>', mark: true },
      { text: " it's", mark: false },
    ]),
    '&lt;script&gt;&#34;x&#34;&amp;<mark>&lt;b&gt;bold&lt;/b&gt;</mark> it&#39;s',
  );
  assert.equal(viewHelpers.highlighted([]), '');
});
