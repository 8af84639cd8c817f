// Chromium pages used as a person uses them: logging in, axe-core checks, and small readers of the page.
import assert from 'node:assert/strict';
import axe from 'axe-core';
import type { BrowserContextOptions, Page } from 'playwright-core';
import type { User } from '../../src/models/index.js';
import type { BrowserApp } from './chromium.js';
import type { BrowserGlobals } from './dom.js';
import { PASSWORD } from './factories.js';

/** Types the username and password into the login form and waits to leave it. */
export async function logIn(page: Page, baseUrl: string, user: Pick<User, 'username'>): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel('Username or email').fill(user.username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((url) => url.pathname !== '/login');
  await page.getByRole('button', { name: 'Log out' }).waitFor();
}

/** The cookies of a session in which `user` has logged in, for `newPage({ storageState })`. */
export async function loggedInState(
  app: Pick<BrowserApp, 'baseUrl' | 'newPage'>,
  user: Pick<User, 'username'>,
): Promise<BrowserContextOptions['storageState']> {
  const page = await app.newPage();
  await logIn(page, app.baseUrl, user);
  const state = await page.context().storageState();
  await page.context().close();
  return state;
}

/** The main landmark's text, trimmed and with runs of whitespace as one space. */
export async function mainText(page: Page): Promise<string> {
  return ((await page.getByRole('main').textContent()) ?? '').replace(/\s+/g, ' ').trim();
}

// WCAG 2.0/2.1/2.2 A and AA, plus axe's best practices (landmarks, one h1, region…).
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

export interface Violation {
  id: string;
  impact: string | null | undefined;
  help: string;
  helpUrl: string;
  nodes: { target: unknown[]; html: string; failureSummary?: string | undefined }[];
}

/** Runs axe-core on the page as it is now and returns its violations. */
export async function axeViolations(page: Page): Promise<Violation[]> {
  // Injected through the DevTools protocol, which the page's CSP (script-src 'self') does
  // not govern: no bypassCSP needed, so axe sees the page under its real policy.
  const loaded = await page.evaluate(() => (globalThis as unknown as BrowserGlobals).axe !== undefined);
  if (!loaded) await page.evaluate(axe.source);
  const results = await page.evaluate((tags) => {
    const { axe: injected } = globalThis as unknown as BrowserGlobals;
    if (!injected) throw new Error('axe-core did not load');
    return injected.run({ exclude: [] }, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
  }, AXE_TAGS);
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({ target: n.target, html: n.html, failureSummary: n.failureSummary })),
  }));
}

/** One readable line per violation: rule, impact, help, and every element it names. */
export function describeViolations(violations: Violation[]): string {
  return violations
    .map(
      (v) =>
        `[${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n` +
        v.nodes.map((n) => `    at ${JSON.stringify(n.target)}: ${n.html}`).join('\n'),
    )
    .join('\n');
}

/** axe's serious and critical violations on the page as it is now. */
export async function severeViolations(page: Page): Promise<Violation[]> {
  return (await axeViolations(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Fails when axe finds anything serious or critical on the page. */
export async function assertAccessible(page: Page, where: string): Promise<void> {
  const severe = await severeViolations(page);
  assert.equal(severe.length, 0, `axe on ${where} (${page.url()}):\n${describeViolations(severe)}`);
}

/** A username the factories and the signup form both accept, unique enough for one run. */
export function randomUsername(prefix = 'u'): string {
  return `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
}

export interface Focused {
  id: string;
  tag: string;
  /** What a person hears: the label, aria-label or text, whitespace collapsed. */
  name: string;
  href: string | null;
  inMain: boolean;
  html: string;
  /** An outline (not `none`, wider than 0) or a box-shadow is drawn around it. */
  indicated: boolean;
}

/** The focused element, or null when focus is on the body (or nowhere). */
export function focused(page: Page): Promise<Focused | null> {
  return page.evaluate(() => {
    const { document, getComputedStyle } = globalThis as unknown as BrowserGlobals;
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const text = el.labels?.[0]?.textContent ?? el.getAttribute('aria-label') ?? el.textContent ?? '';
    const style = getComputedStyle(el);
    const outlined = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
    return {
      id: el.id,
      tag: el.tagName.toLowerCase(),
      name: text.replace(/\s+/g, ' ').trim(),
      href: el.getAttribute('href'),
      inMain: el.closest('main') !== null,
      html: el.outerHTML,
      indicated: outlined || (style.boxShadow !== 'none' && style.boxShadow !== ''),
    };
  });
}
