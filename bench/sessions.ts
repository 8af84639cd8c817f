// Logged-in sessions for the writes, made over HTTP as a browser makes them, and the
// autocannon requests that write with them.
import type autocannon from 'autocannon';
import { DEMO_PASSWORD } from '../src/db/demo.js';
import { csrfTokenIn } from '../test/support/browser.js';
import { FORWARDED_HEADERS } from './app.js';

export interface Session {
  username: string;
  /** The Cookie header value: `sid=…`. */
  cookie: string;
  /** The session's CSRF token, sent as `_csrf` with every form. */
  csrf: string;
}

function sessionCookie(res: Response): string | undefined {
  for (const header of res.headers.getSetCookie()) {
    const pair = header.split(';')[0]?.trim();
    if (pair?.startsWith('sid=')) return pair;
  }
  return undefined;
}

async function get(origin: string, path: string, cookie?: string): Promise<Response> {
  return fetch(origin + path, {
    redirect: 'manual',
    headers: { ...FORWARDED_HEADERS, ...(cookie ? { cookie } : {}) },
  });
}

/** GET /login (token + cookie), POST /login (303, new cookie), then the new session's token. */
export async function logIn(origin: string, username: string): Promise<Session> {
  const form = await get(origin, '/login');
  const anonymousCookie = sessionCookie(form);
  if (form.status !== 200 || !anonymousCookie) throw new Error(`GET /login answered ${form.status} without a cookie`);
  const res = await fetch(`${origin}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { ...FORWARDED_HEADERS, cookie: anonymousCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrfTokenIn(await form.text()), login: username, password: DEMO_PASSWORD }),
  });
  await res.arrayBuffer();
  const cookie = sessionCookie(res);
  if (res.status !== 303 || !cookie) throw new Error(`login as ${username} answered ${res.status}, not 303`);
  // Any page has the logout form, with the token of the (regenerated) session.
  const page = await get(origin, '/', cookie);
  if (page.status !== 200) throw new Error(`GET / as ${username} answered ${page.status}`);
  return { username, cookie, csrf: csrfTokenIn(await page.text()) };
}

/** Publishes one post as a browser would, following the redirect: checks the write path works. */
export async function writeOnce(origin: string, session: Session): Promise<void> {
  const res = await fetch(`${origin}/posts`, {
    method: 'POST',
    redirect: 'manual',
    headers: { ...FORWARDED_HEADERS, cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      _csrf: session.csrf,
      title: `Warm-up post by ${session.username}`,
      body: 'Checking that the write path answers 303 before the load starts.',
      published: 'on',
    }),
  });
  await res.arrayBuffer();
  const location = res.headers.get('location');
  if (res.status !== 303 || !location) throw new Error(`POST /posts as ${session.username} answered ${res.status}`);
  const shown = await get(origin, location, session.cookie);
  await shown.arrayBuffer();
  if (shown.status !== 200) throw new Error(`GET ${location} after a write answered ${shown.status}`);
}

/** A response header by name, whatever its case, as autocannon hands them over. */
export function header(headers: Record<string, string | string[]>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

let written = 0;

function postForm(session: Session, label: string): string {
  written++;
  return new URLSearchParams({
    _csrf: session.csrf,
    title: `${label} ${written}: notes on a busy afternoon`,
    body:
      `Post number ${written}, written under load by ${session.username}.\n\n` +
      'Most of the afternoon went on small things: answering messages, fixing a test that ' +
      'failed only on Tuesdays, and reading about how **other people** size their connection pools.',
    published: 'on',
  }).toString();
}

/**
 * POST /posts as the connection's session (`context.session`), then GET of the 303's
 * Location. Following it is what a browser does, and it shows (so clears) the flash message
 * the write left in the session: without it every session would grow all along. A request
 * built before the connection has its session is left as it is (the caller rebuilds it).
 */
export function writeAndFollow(label: string): [autocannon.Request, autocannon.Request] {
  const write: autocannon.Request = {
    kind: 'write',
    method: 'POST',
    path: '/posts',
    setupRequest: (request, context) => {
      const session = context.session as Session | undefined;
      if (!session) return request;
      context.location = undefined;
      return {
        ...request,
        headers: { ...request.headers, cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: postForm(session, label),
      };
    },
    onResponse: (status, _body, context, headers) => {
      context.location = status === 303 ? header(headers, 'location') : undefined;
    },
  };
  const follow: autocannon.Request = {
    kind: 'follow',
    method: 'GET',
    setupRequest: (request, context) => {
      const session = context.session as Session | undefined;
      if (!session) return request;
      const location = typeof context.location === 'string' ? context.location : '/';
      return { ...request, path: location, headers: { ...request.headers, cookie: session.cookie } };
    },
  };
  return [write, follow];
}
