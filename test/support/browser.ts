// A person with a browser: `Browser` on the in-process app, `Visitor` on a server process; both keep cookies and CSRF tokens.
import assert from 'node:assert/strict';
import type http from 'node:http';
import type { Express } from 'express';
import request, { type Response } from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import type { User } from '../../src/models/index.js';
import { PASSWORD } from './factories.js';
import { type Reply, send, type SendOptions } from './http.js';

/** The hidden CSRF field of the first form on a page, or undefined when it has none. */
export function findCsrfToken(html: string): string | undefined {
  return /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
}

/** The hidden CSRF field of the first form on a page. */
export function csrfTokenIn(html: string): string {
  const token = findCsrfToken(html);
  if (!token) throw new Error('no CSRF token on the page');
  return token;
}

type Fields = Record<string, string | undefined>;

/**
 * The body an HTML form sends: the CSRF token (unless null), PUT/DELETE tunnelled through
 * POST's _method field, and the fields that have a value.
 */
export function formBody(
  token: string | null,
  method: 'POST' | 'PUT' | 'DELETE',
  fields: Fields = {},
): Record<string, string> {
  const form: Record<string, string> = {};
  if (token !== null) form._csrf = token;
  if (method !== 'POST') form._method = method;
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) form[key] = value;
  return form;
}

function loginFailed(login: string, status: number): Error {
  return new Error(`login as ${login} failed with ${status}`);
}

/**
 * A person with a browser: keeps cookies, and submits forms as HTML does, with the page's
 * CSRF token and PUT/DELETE tunnelled through POST's _method field.
 */
export class Browser {
  readonly agent: TestAgent;

  constructor(app: Express) {
    this.agent = request.agent(app);
  }

  /** A browser in which `user` (made by the factories) has logged in. */
  static async loggedIn(app: Express, user: User): Promise<Browser> {
    const browser = new Browser(app);
    await browser.logIn(user.username, PASSWORD);
    return browser;
  }

  /** Whether the session belongs to someone: a login-only page answers 200, not 303. */
  async isLoggedIn(): Promise<boolean> {
    const res = await this.get('/posts/new');
    if (res.status === 303) assert.match(String(res.headers.location), /^\/login/);
    return res.status === 200;
  }

  get(path: string): Promise<Response> {
    return this.agent.get(path).redirects(0);
  }

  /** The session's current token (the signup form is shown to everyone; the layout shows it too). */
  async csrfToken(): Promise<string> {
    const res = await this.agent.get('/signup');
    return csrfTokenIn(res.text);
  }

  async submit(
    method: 'POST' | 'PUT' | 'DELETE',
    path: string,
    fields: Fields = {},
    options: { csrf?: string | null } = {},
  ): Promise<Response> {
    const token = options.csrf === undefined ? await this.csrfToken() : options.csrf;
    return this.agent
      .post(path)
      .type('form')
      .send(formBody(token, method, fields))
      .redirects(0);
  }

  async logIn(login: string, password: string): Promise<Response> {
    const res = await this.submit('POST', '/login', { login, password });
    if (res.status !== 303) throw loginFailed(login, res.status);
    return res;
  }
}

/** A person with a browser on a server process: keeps the session cookie and the page's CSRF token. */
export class Visitor {
  private readonly cookies = new Map<string, string>();
  csrf: string | undefined;

  constructor(
    readonly port: number,
    readonly agent?: http.Agent,
  ) {}

  async request(options: SendOptions): Promise<Reply> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const reply = await send(this.port, {
      agent: this.agent,
      ...options,
      headers: { ...(cookie ? { Cookie: cookie } : {}), ...options.headers },
    });
    for (const line of reply.headers['set-cookie'] ?? []) {
      const match = /^([^=;\s]+)=([^;]*)/.exec(line);
      if (!match?.[1]) continue;
      if (match[2] === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(match[1]);
      else this.cookies.set(match[1], match[2] ?? '');
    }
    return reply;
  }

  get(pathname: string, timeoutMs?: number): Promise<Reply> {
    return this.request({ path: pathname, timeoutMs });
  }

  /** Logs in through the form, then keeps the new session's CSRF token for later posts. */
  async logIn(login: string): Promise<void> {
    const form = await this.get('/login');
    if (form.status !== 200) throw new Error(`GET /login answered ${form.status}`);
    const res = await this.request({
      method: 'POST',
      path: '/login',
      form: formBody(csrfTokenIn(form.body), 'POST', { login, password: PASSWORD }),
    });
    if (res.status !== 303) throw loginFailed(login, res.status);
    const newPost = await this.get('/posts/new');
    if (newPost.status !== 200) throw new Error(`GET /posts/new after login answered ${newPost.status}`);
    this.csrf = csrfTokenIn(newPost.body);
  }

  /** POST /posts as the logged-in person (a published post). */
  createPost(title: string, options: Pick<SendOptions, 'agent' | 'timeoutMs'> = {}): Promise<Reply> {
    if (!this.csrf) throw new Error('log in first');
    return this.request({
      method: 'POST',
      path: '/posts',
      form: formBody(this.csrf, 'POST', { title, body: `The body of ${title}.`, published: 'on' }),
      ...options,
    });
  }
}
