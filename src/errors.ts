/** An expected failure with the HTTP status it is shown with. */
export class AppError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'We could not find that page.') {
    super(message, 404);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'You are not allowed to do that.') {
    super(message, 403);
  }
}

/** A problem with one form field, shown at that field with the error's status. */
export class FieldError extends AppError {
  constructor(
    readonly field: string,
    message: string,
    status = 422,
  ) {
    super(message, status);
  }
}

/** A unique value already taken, or a change the current state forbids: 409. */
export class ConflictError extends FieldError {
  constructor(field: string, message: string) {
    super(field, message, 409);
  }
}

export class TooManyRequestsError extends AppError {
  constructor(readonly retryAfterSeconds: number) {
    super('Too many attempts. Please wait a few minutes and try again.', 429);
  }
}

/** A post search cut short by its statement timeout: the database is fine, the search was too costly now. */
export class SearchTimeoutError extends AppError {
  constructor() {
    super('This search took too long. Please try again in a moment, or search for fewer or more specific words.', 503);
  }
}

/**
 * Why the process cannot start, in words its operator can act on: the message names the
 * cause and the fix, so it is shown alone, without a stack.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}
