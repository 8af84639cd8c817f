import express, { type RequestHandler } from 'express';
import methodOverride from 'method-override';

// Largest form body: a 100,000-character post, percent-encoded, with room to spare.
const BODY_LIMIT = '1mb';
const TUNNELLED_METHODS = new Set(['PUT', 'DELETE']);

/** HTML form bodies, and the PUT or DELETE a form sends as POST with a hidden _method. */
export function formBodies(): RequestHandler[] {
  return [
    express.urlencoded({ extended: false, limit: BODY_LIMIT, parameterLimit: 100 }),
    // A POST turns into PUT or DELETE and into nothing else: never a GET, which CSRF
    // checks let through.
    methodOverride((req) => {
      const body = req.body as Record<string, unknown> | undefined;
      const method = typeof body?._method === 'string' ? body._method.toUpperCase() : '';
      if (body) delete body._method;
      return TUNNELLED_METHODS.has(method) ? method : '';
    }),
  ];
}
