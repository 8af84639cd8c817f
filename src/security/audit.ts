import type { Request } from 'express';

/** What an operator asks after the fact: who got in, who failed, who changed what. */
export type SecurityEvent =
  | 'signup'
  | 'login'
  | 'login_failed'
  | 'lockout'
  | 'logout'
  | 'password_changed'
  | 'password_reset_requested'
  | 'password_reset'
  | 'email_change_requested'
  | 'email_confirmed'
  | 'sessions_ended'
  | 'role_changed'
  | 'account_deleted'
  | 'post_deleted'
  | 'comment_deleted';

// Failures and refusals are what a dashboard alerts on: a level above the rest.
const WARNINGS = new Set<SecurityEvent>(['login_failed', 'lockout']);

/**
 * One structured line per security event: its name, who acted (a user id, or none), on
 * what, from which address, in which request. Never a password, token or session id.
 */
export function logSecurityEvent(
  req: Request,
  event: SecurityEvent,
  details: { actorId?: number; target?: Record<string, string | number>; [key: string]: unknown } = {},
): void {
  const { actorId, target, ...rest } = details;
  const line = { event, actorId: actorId ?? null, target: target ?? null, ip: req.ip, requestId: req.id, ...rest };
  if (WARNINGS.has(event)) req.log.warn({ security: line }, `security event: ${event}`);
  else req.log.info({ security: line }, `security event: ${event}`);
}
