import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';
import express from 'express';
import { serve, serveApp, startTestApp, type TestApp } from '../support/app.js';
import { Visitor } from '../support/browser.js';
import { createPost, createUser, PASSWORD } from '../support/factories.js';

const PUBLIC_DIR = path.resolve(__dirname, '../../public');
const IMMUTABLE = 'public, max-age=31536000, immutable';
const PACKAGE_JSON = fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8');

/** The file's bytes in public/, and the URL its content should be served at. */
function publicFile(name: string): { bytes: Buffer; url: string } {
  const bytes = fs.readFileSync(path.join(PUBLIC_DIR, name));
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 10);
  const { name: stem, ext } = path.parse(name);
  return { bytes, url: `/static/${stem}.${hash}${ext}` };
}

const stylesheet = publicFile('site.css');
const favicon = publicFile('favicon.svg');
const faviconIco = publicFile('favicon.ico');
const appleTouchIcon = publicFile('apple-touch-icon.png');
const A_MONTH = 'public, max-age=2592000';

/** A PNG's width and height, from its IHDR chunk; throws on anything else. */
function pngSize(bytes: Buffer): { width: number; height: number } {
  assert.ok(bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'a PNG');
  assert.equal(bytes.toString('latin1', 12, 16), 'IHDR');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

let t: TestApp;

/**
 * A request as sent, path untouched, and with only the headers given: no Accept-Encoding
 * unless asked. The body comes back as sent, encoded.
 */
function raw(
  urlPath: string,
  options: { method?: string; headers?: http.OutgoingHttpHeaders } = {},
): Promise<RawResponse> {
  const { port } = t;
  return new Promise<RawResponse>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: urlPath, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  t = await startTestApp();

  // Enough posts for /posts and /posts.atom to be well over the 1 KB threshold. A fixed
  // date keeps "… ago" the same from one request to the next.
  const author = await createUser();
  for (let i = 1; i <= 5; i += 1) {
    await createPost(t.db, author, {
      title: `Compressible post number ${i}`,
      body: `Paragraph ${i}. `.repeat(40),
      publishedAt: new Date('2025-01-15T12:00:00Z'),
    });
  }
});
after(async () => {
  await t.close();
});

describe('fingerprinted assets', () => {
  test('the layout › links the stylesheet and the icons by the hash of their content', async () => {
    const res = await new Visitor(t).get('/');
    assert.equal(res.status, 200);
    assert.ok(res.body.includes(`<link rel="stylesheet" href="${stylesheet.url}">`), res.body);
    assert.ok(res.body.includes(`<link rel="icon" href="${faviconIco.url}" sizes="32x32">`));
    assert.ok(res.body.includes(`<link rel="icon" href="${favicon.url}" type="image/svg+xml">`));
    assert.ok(res.body.includes(`<link rel="apple-touch-icon" href="${appleTouchIcon.url}">`));
  });

  test('a fingerprinted name › 200, the file in public/, cached for a year as immutable', async () => {
    for (const [file, type] of [
      [stylesheet, /^text\/css/],
      [favicon, /^image\/svg\+xml/],
      [faviconIco, /^image\/(x-icon|vnd\.microsoft\.icon)$/],
      [appleTouchIcon, /^image\/png$/],
    ] as const) {
      const res = await raw(file.url);
      assert.equal(res.status, 200, file.url);
      assert.match(String(res.headers['content-type']), type);
      assert.equal(res.headers['cache-control'], IMMUTABLE);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.ok(res.body.equals(file.bytes), `${file.url} serves the bytes of public/`);
    }
  });

  test('a fingerprinted name in production › the same one-year immutable cache', async () => {
    const production = await serveApp(t.db, { env: 'production' });
    try {
      const res = await new Visitor(production).get(stylesheet.url);
      assert.equal(res.status, 200);
      assert.equal(res.headers['cache-control'], IMMUTABLE);
      const plain = await new Visitor(production).get('/static/site.css');
      assert.equal(plain.status, 200);
      assert.equal(plain.headers['cache-control'], 'public, max-age=86400');
    } finally {
      await production.close();
    }
  });

  test('a conditional request with the ETag › 304, nothing encoded', async () => {
    const first = await raw(stylesheet.url, { headers: { 'Accept-Encoding': 'gzip' } });
    const etag = first.headers.etag;
    assert.ok(etag, 'an ETag');
    const again = await raw(stylesheet.url, { headers: { 'Accept-Encoding': 'gzip', 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.headers['content-encoding'], undefined);
    assert.equal(again.body.length, 0);
  });

  test('HEAD on a fingerprinted name › 200 with the headers, no body', async () => {
    const res = await raw(stylesheet.url, { method: 'HEAD', headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['cache-control'], IMMUTABLE);
    assert.equal(res.headers['content-encoding'], undefined);
    assert.equal(res.body.length, 0);
  });

  test('a hash of other content › 404, not the current file', async () => {
    const faviconHash = favicon.url.split('.')[1];
    for (const url of [
      '/static/site.0000000000.css',
      `/static/site.${faviconHash}.css`,
      stylesheet.url.toUpperCase(),
      `${stylesheet.url}x`,
    ]) {
      const res = await raw(url);
      assert.equal(res.status, 404, url);
      assert.doesNotMatch(String(res.headers['cache-control']), /immutable/, url);
      assert.ok(!res.body.includes(stylesheet.bytes), url);
    }
  });

  test('a plain name › still served, with a cache that is not immutable', async () => {
    const res = await raw('/static/site.css');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/css/);
    assert.equal(res.headers['cache-control'], 'public, max-age=0');
    assert.ok(res.body.equals(stylesheet.bytes));
    const icon = await raw('/static/favicon.svg');
    assert.equal(icon.status, 200);
    assert.doesNotMatch(String(icon.headers['cache-control']), /immutable/);
  });

  test('/favicon.ico and the Apple touch icons at the root › 200, the files of public/, cached for a month', async () => {
    for (const [url, file, type] of [
      ['/favicon.ico', faviconIco, /^image\/(x-icon|vnd\.microsoft\.icon)$/],
      ['/apple-touch-icon.png', appleTouchIcon, /^image\/png$/],
      ['/apple-touch-icon-precomposed.png', appleTouchIcon, /^image\/png$/],
    ] as const) {
      const res = await raw(url);
      assert.equal(res.status, 200, url);
      assert.match(String(res.headers['content-type']), type, url);
      assert.equal(res.headers['cache-control'], A_MONTH, url);
      assert.ok(res.headers['last-modified'], url);
      assert.ok(res.body.equals(file.bytes), `${url} serves the bytes of public/`);
      // Asked again with its ETag: 304, nothing sent.
      const again = await raw(url, { headers: { 'If-None-Match': String(res.headers.etag) } });
      assert.equal(again.status, 304, url);
      assert.equal(again.body.length, 0);
      const head = await raw(url, { method: 'HEAD' });
      assert.equal(head.status, 200, url);
      assert.equal(head.body.length, 0);
    }
    assert.equal((await raw('/favicon.png')).status, 404);
  });

  test('the icons themselves › an ICO of 32 and 16 px PNGs; a 180 px Apple touch icon', () => {
    const ico = faviconIco.bytes;
    assert.equal(ico.readUInt16LE(0), 0);
    assert.equal(ico.readUInt16LE(2), 1, 'an icon');
    const count = ico.readUInt16LE(4);
    const sizes = Array.from({ length: count }, (_, i) => {
      const entry = 6 + 16 * i;
      const [length, offset] = [ico.readUInt32LE(entry + 8), ico.readUInt32LE(entry + 12)];
      const png = pngSize(ico.subarray(offset, offset + length));
      assert.equal(png.width, ico.readUInt8(entry), 'the entry says the size of its image');
      assert.equal(png.width, png.height);
      return png.width;
    });
    assert.deepEqual(sizes, [32, 16]);
    assert.deepEqual(pngSize(appleTouchIcon.bytes), { width: 180, height: 180 });
  });

  test('a path leaving /static › no file outside public/', async () => {
    for (const url of [
      '/static/..%2fpackage.json',
      '/static/..%2f..%2fpackage.json',
      '/static/%2e%2e/package.json',
      '/static/../package.json',
      `/static/site.0000000000.css/../../package.json`,
      `${stylesheet.url}/../../package.json`,
      `${stylesheet.url}%2f..%2f..%2fpackage.json`,
    ]) {
      const res = await raw(url);
      assert.ok([400, 403, 404].includes(res.status), `${url}: ${res.status}`);
      assert.ok(!res.body.includes(PACKAGE_JSON.slice(0, 60)), url);
      assert.ok(!res.body.toString('utf8').includes('"devDependencies"'), url);
    }
  });

  test('a fingerprinted request › timed under the /static route label', async () => {
    await raw(stylesheet.url);
    const res = await new Visitor(t).get('/metrics');
    assert.match(res.body, /http_request_duration_seconds_count\{method="GET",route="\/static",status="200"\} [1-9]/);
    assert.doesNotMatch(res.body, /route="\/static\/site/);
  });
});

describe('compression', () => {
  test('GET /posts with Accept-Encoding: gzip › gzip, decoding to the page sent unencoded', async () => {
    const plain = await raw('/posts');
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(Number(plain.headers['content-length']), plain.body.length);
    assert.ok(plain.body.length > 1024, 'the page is over the threshold');

    const gzipped = await raw('/posts', { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(gzipped.status, 200);
    assert.equal(gzipped.headers['content-encoding'], 'gzip');
    assert.match(String(gzipped.headers.vary), /accept-encoding/i);
    assert.ok(gzipped.body.length < plain.body.length);
    const decoded = zlib.gunzipSync(gzipped.body).toString('utf8');
    assert.equal(decoded, plain.body.toString('utf8'));
    assert.match(decoded, /Compressible post number 5/);
  });

  test('the stylesheet with Accept-Encoding: br › brotli, decoding to the file', async () => {
    const res = await raw(stylesheet.url, { headers: { 'Accept-Encoding': 'br' } });
    assert.equal(res.headers['content-encoding'], 'br');
    assert.equal(res.headers['cache-control'], IMMUTABLE);
    assert.ok(zlib.brotliDecompressSync(res.body).equals(stylesheet.bytes));
  });

  test('a small response › not compressed', async () => {
    const res = await raw('/healthz', { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], undefined);
    assert.equal(res.body.toString(), 'ok');
  });

  test('HEAD /posts with Accept-Encoding: gzip › 200, not encoded, no body', async () => {
    const res = await raw('/posts', { method: 'HEAD', headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], undefined);
    assert.equal(res.body.length, 0);
  });

  test('a page marked Cache-Control: no-transform › sent as it is', async () => {
    const outer = express();
    outer.use((_req, res, next) => {
      res.setHeader('Cache-Control', 'public, no-transform');
      next();
    });
    outer.use(t.app);
    const served = await serve(outer);
    const res = await new Visitor(served)
      .get('/posts', { headers: { 'Accept-Encoding': 'gzip' } })
      .finally(() => served.close());
    assert.equal(res.status, 200);
    assert.equal(res.headers['cache-control'], 'public, no-transform');
    assert.equal(res.headers['content-encoding'], undefined);
  });

  test('GET /posts.atom gzipped › decodes to the XML feed', async () => {
    const res = await raw('/posts.atom', { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/atom\+xml/);
    assert.equal(res.headers['content-encoding'], 'gzip');
    const xml = zlib.gunzipSync(res.body).toString('utf8');
    assert.ok(xml.startsWith('<?xml'), xml.slice(0, 100));
    assert.match(xml, /<entry>[\s\S]*Compressible post number 1/);
  });

  test('GET /metrics gzipped › decodes to the Prometheus text', async () => {
    const res = await raw('/metrics', { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.match(zlib.gunzipSync(res.body).toString('utf8'), /# TYPE http_request_duration_seconds histogram/);
  });

  test('a login redirect carrying a flash › the next page, gzipped, shows the message', async () => {
    const user = await createUser({ displayName: 'Gzip Reader' });
    const browser = new Visitor(t);
    const login = await browser.logIn(user.username, PASSWORD);
    const page = await browser.get(String(login.headers.location), { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-encoding'], 'gzip');
    assert.match(page.body, /Welcome back, Gzip Reader\./);
  });
});
