import assert from 'node:assert/strict';
import type { Express } from 'express';
import request, { type Response } from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import type { User } from '../../src/models/index.js';
import { PASSWORD } from './factories.js';

/** The hidden CSRF field of the first form on a page. */
export function csrfTokenIn(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error('no CSRF token on the page');
  return match[1];
}

type Fields = Record<string, string | undefined>;

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
    const form: Record<string, string> = {};
    if (token !== null) form._csrf = token;
    if (method !== 'POST') form._method = method;
    for (const [key, value] of Object.entries(fields)) if (value !== undefined) form[key] = value;
    return this.agent.post(path).type('form').send(form).redirects(0);
  }

  async logIn(login: string, password: string): Promise<Response> {
    const res = await this.submit('POST', '/login', { login, password });
    if (res.status !== 303) throw new Error(`login as ${login} failed with ${res.status}`);
    return res;
  }
}
