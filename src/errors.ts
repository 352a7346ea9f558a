// Errors a user can act on: each names where the problem is (file, field or tensor) and the fix.

export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** A config field is missing, has the wrong type, or contradicts another field. */
export class ConfigError extends UserError {
  constructor(readonly source: string, readonly field: string, readonly problem: string, readonly fix: string) {
    super(`${source}: field "${field}": ${problem}. Fix: ${fix}`);
    this.name = 'ConfigError';
  }
}

/** A file or directory is missing, unreadable, corrupt, or does not match what it must hold. */
export class FileError extends UserError {
  constructor(readonly file: string, problem: string, fix: string) {
    super(`${file}: ${problem}. Fix: ${fix}`);
    this.name = 'FileError';
  }
}

/** The short reason a file operation failed (ENOENT, EACCES, …), for messages. */
export function errnoCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}
