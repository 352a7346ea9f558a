// Errors a user can act on: each names where the problem is (file, field or tensor) and the fix.
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * An error whose message says all there is to say: the CLI prints it as one line, without a
 * stack trace, and exits with `exitCode`.
 */
export class ReportedError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
    this.name = 'ReportedError';
  }
}

/** Bad input or an environment the user can fix: one line, exit code 2. */
export class UserError extends ReportedError {
  constructor(message: string) {
    super(message, 2);
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
  constructor(readonly file: string, readonly problem: string, readonly fix: string) {
    super(`${file}: ${problem}. Fix: ${fix}`);
    this.name = 'FileError';
  }
}

/** The short reason a file operation failed (ENOENT, EACCES, …), for messages. */
export function errnoCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}

/** What an OS error on a path means for the user, and what to do about it. */
const OS_ERRORS: Record<string, { problem: string; fix: string }> = {
  ENOENT: { problem: 'does not exist', fix: 'check the path' },
  ENOTDIR: { problem: 'is not a directory (a file stands where the path needs a directory)', fix: 'check the path, or move the file out of the way' },
  EISDIR: { problem: 'is a directory where a file is needed', fix: 'check the path, or move the directory out of the way' },
  EEXIST: { problem: 'already exists', fix: 'choose another path, or move what is there out of the way' },
  ENOTEMPTY: { problem: 'is a directory that is not empty', fix: 'choose another path, or empty it' },
  EACCES: { problem: 'permission denied', fix: 'check the permissions of the path, or choose another one' },
  EPERM: { problem: 'operation not permitted', fix: 'check the permissions of the path, or choose another one' },
  EROFS: { problem: 'is on a read-only file system', fix: 'choose a writable location' },
  EBUSY: { problem: 'is busy (a mount point, or in use by the system)', fix: 'choose another path' },
  ENOSPC: { problem: 'cannot be written: no space left on the device', fix: 'free space on that disk, or choose a location on another disk' },
  EDQUOT: { problem: 'cannot be written: the disk quota is exhausted', fix: 'free space within your quota, or choose another location' },
  EFBIG: { problem: 'would exceed the largest file the file system allows', fix: 'choose a location on another file system' },
  ENAMETOOLONG: { problem: 'has a name too long for the file system', fix: 'choose a shorter path' },
  ELOOP: { problem: 'has too many levels of symbolic links', fix: 'check the symbolic links in the path' },
  EMFILE: { problem: 'cannot be opened: too many open files', fix: 'raise the limit (ulimit -n) and run again' },
  EXDEV: { problem: 'cannot be moved across file systems', fix: 'keep the output on the same disk as its directory' },
  EIO: { problem: 'input/output error', fix: 'check the disk' },
};

/** Bytes free for this user on the device holding `p` (or its nearest existing parent), if known. */
export function freeBytes(p: string): number | undefined {
  for (let dir = path.resolve(p); ; dir = path.dirname(dir)) {
    try {
      const s = fs.statfsSync(dir);
      return s.bavail * s.bsize;
    } catch {
      if (path.dirname(dir) === dir) return undefined;
    }
  }
}

/** 1536 → "1.5 KiB" (errors name sizes; the CLI's output uses the same). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/**
 * A disk-full error while writing `file`, `needed` bytes in all: how much was needed and how
 * much is free. Other errors are returned unchanged.
 */
export function diskFullError(err: unknown, file: string, needed: number): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return err;
  const free = freeBytes(path.dirname(file));
  const { problem } = OS_ERRORS[code];
  const room = free === undefined ? `about ${formatBytes(needed)}` : `at least ${formatBytes(Math.max(0, needed - free))} more`;
  return new FileError(file, `${problem} (it needs ${formatBytes(needed)}${free === undefined ? '' : `, ${formatBytes(free)} are free`}; ${code})`,
    `free ${room} on that disk, or choose a location on another disk`);
}

/** An OS error on a path as a FileError naming the path, the problem and the fix; undefined for any other error. */
export function osError(err: unknown): FileError | undefined {
  const e = err as NodeJS.ErrnoException | undefined;
  if (!e || typeof e.code !== 'string' || typeof e.path !== 'string' || !(e.code in OS_ERRORS)) return undefined;
  const { problem, fix } = OS_ERRORS[e.code];
  const dest = (e as { dest?: unknown }).dest;
  const where = typeof dest === 'string' ? `${e.path} → ${dest}` : e.path;
  const free = e.code === 'ENOSPC' || e.code === 'EDQUOT' ? freeBytes(e.path) : undefined;
  return new FileError(where, `${e.syscall ? `${e.syscall}: ` : ''}${problem}${free === undefined ? '' : ` (${formatBytes(free)} free)`} (${e.code})`, fix);
}

/** The error as the user should see it (one line, its exit code), or undefined when it is a bug. */
export function reportedError(err: unknown): ReportedError | undefined {
  if (err instanceof ReportedError) return err;
  return osError(err);
}
