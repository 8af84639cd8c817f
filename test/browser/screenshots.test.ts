// Full-page screenshots of the main pages on a phone and a desktop, light and dark, for
// people to look at (test/artifacts/screenshots, git-ignored), and the one thing a machine
// can judge from them: nothing is wider than the screen.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContextOptions, Page, Response } from 'playwright-core';
import type { Post, User } from '../../src/models/index.js';
import { type BrowserApp, chromiumMissing, startBrowserApp } from '../support/chromium.js';
import { createComment, createPost, createUser } from '../support/factories.js';
import type { BrowserGlobals } from '../support/dom.js';
import { loggedInState } from '../support/pages.js';

const SCREENSHOTS = path.resolve(__dirname, '../artifacts/screenshots');
const WIDTHS = [375, 1280] as const;
const SCHEMES = ['light', 'dark'] as const;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// Chromium now and then answers a capture with "Unable to capture screenshot" when no
// compositor frame came in time, which a busy 2-core CI machine makes likelier. That is the
// browser's hiccup, not the page's: wait for a frame and take the picture once more. Any
// other error, or the same one twice, still fails the test.
async function captureFullPage(page: Page, file: string): Promise<void> {
  try {
    await page.screenshot({ path: file, fullPage: true });
  } catch (error) {
    if (!(error instanceof Error) || !error.message.includes('Unable to capture screenshot')) {
      throw error;
    }
    await page.evaluate(
      () =>
        new Promise<void>((resolve) => {
          (globalThis as unknown as BrowserGlobals).requestAnimationFrame(() => resolve());
        }),
    );
    await page.screenshot({ path: file, fullPage: true });
  }
}

interface Shot {
  name: string;
  member: boolean;
  status: number;
  open(page: Page): Promise<Response | null>;
}

describe('screenshots', { skip: chromiumMissing }, () => {
  let b: BrowserApp;
  let author: User;
  let post: Post;
  let memberState: BrowserContextOptions['storageState'];

  before(async () => {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    b = await startBrowserApp();
    author = await createUser({
      displayName: 'Ada Lovelace',
      bio: 'Mathematician. Wrote the first published program,\nfor an engine that was never built.',
    });
    const day = 86_400_000;
    await Promise.all(
      Array.from({ length: 12 }, (_, n) =>
        createPost(b.db, author, {
          title: `Note ${n + 1} on the Analytical Engine`,
          body: `Week ${n + 1}: the engine weaves algebraic patterns as the Jacquard loom weaves flowers and leaves.`,
          publishedAt: new Date(Date.now() - (n + 1) * 9 * day),
        }),
      ),
    );
    post = await createPost(b.db, author, {
      title: 'Sketch of the Analytical Engine invented by Charles Babbage',
      body: [
        '## Translator’s notes',
        '',
        'The **Analytical Engine** has no pretensions whatever to _originate_ anything.',
        '',
        '> It can do whatever we know how to order it to perform.',
        '',
        '1. The store',
        '2. The mill',
        '',
        '```',
        'V1 × V2 → V4',
        '```',
        '',
        'Source: https://en.wikipedia.org/wiki/Sketch_of_The_Analytical_Engine_Invented_by_Charles_Babbage_with_notes',
      ].join('\n'),
    });
    const member = await createUser({ displayName: 'Grace Hopper' });
    await createComment(b.db, post, member, 'Which of the notes did you find hardest to translate?');
    await createComment(
      b.db,
      post,
      author,
      'Note G, by far: the table of operations for the Bernoulli numbers.\n\nIt took most of a summer.',
    );
    memberState = await loggedInState(b, member);
  });
  after(async () => {
    await b?.close();
  });

  const goto =
    (to: () => string) =>
    (page: Page): Promise<Response | null> =>
      page.goto(`${b.baseUrl}${to()}`);

  const shots: Shot[] = [
    { name: 'home', member: false, status: 200, open: goto(() => '/') },
    { name: 'posts', member: false, status: 200, open: goto(() => '/posts') },
    { name: 'post', member: false, status: 200, open: goto(() => `/posts/${post.id}`) },
    { name: 'profile', member: false, status: 200, open: goto(() => `/users/${author.username}`) },
    {
      name: 'new-post-errors',
      member: true,
      status: 422,
      async open(page) {
        await page.goto(`${b.baseUrl}/posts/new`);
        await page.getByLabel('Body').fill('A body without a title.');
        const [response] = await Promise.all([
          page.waitForResponse((r) => r.request().method() === 'POST' && r.request().isNavigationRequest()),
          page.getByRole('button', { name: 'Save post' }).click(),
        ]);
        await page.waitForLoadState();
        return response;
      },
    },
    { name: 'signup', member: false, status: 200, open: goto(() => '/signup') },
    { name: 'login', member: false, status: 200, open: goto(() => '/login') },
  ];

  for (const width of WIDTHS) {
    for (const colorScheme of SCHEMES) {
      describe(`${width} px, ${colorScheme}`, () => {
        const pages = new Map<boolean, Promise<Page>>();
        const pageFor = (member: boolean): Promise<Page> => {
          let page = pages.get(member);
          if (!page) {
            page = b.newPage({
              viewport: { width, height: 800 },
              colorScheme,
              ...(member ? { storageState: memberState } : {}),
            });
            pages.set(member, page);
          }
          return page;
        };

        for (const shot of shots) {
          const file = path.join(SCREENSHOTS, `${shot.name}-${width}-${colorScheme}.png`);
          test(`${width} px ${colorScheme} › ${shot.name} › a full-page PNG of over 5 KB, nothing wider than the screen`, async () => {
            const page = await pageFor(shot.member);
            const response = await shot.open(page);
            assert.equal(response?.status(), shot.status);

            const scrollWidth = await page.evaluate(
              () => (globalThis as unknown as BrowserGlobals).document.documentElement.scrollWidth,
            );
            assert.ok(
              scrollWidth <= width,
              `${shot.name} is ${scrollWidth} px wide at ${width} px: it scrolls sideways`,
            );

            fs.rmSync(file, { force: true });
            await captureFullPage(page, file);
            const png = fs.readFileSync(file);
            assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE, `${file} is a PNG`);
            assert.ok(png.length > 5 * 1024, `${file} is only ${png.length} bytes`);
            // The PNG header's width: the whole layout, not a crop.
            assert.equal(png.readUInt32BE(16), width);
          });
        }
      });
    }
  }
});
