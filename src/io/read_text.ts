// Reading files the user names, where a missing, unreadable or odd path is the user's to fix.
import * as fs from 'fs';
import { errnoCode, FileError } from '../errors';

/**
 * The file's stat; refuses a path that does not exist, cannot be read, or is not a regular file:
 * a directory, or a pipe, socket or device, whose read would block or never end.
 */
export function regularFile(file: string, fix: string): fs.Stats {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    const code = errnoCode(err);
    throw new FileError(file, code === 'ENOENT' ? missing(file) : `cannot be read (${code})`, fix);
  }
  if (stat.isDirectory()) throw new FileError(file, 'is a directory, not a file', fix);
  if (!stat.isFile()) throw new FileError(file, 'is not a regular file (a pipe, socket or device cannot be read as one)', fix);
  return stat;
}

/** "does not exist", or for a dangling symbolic link, where it points. */
function missing(file: string): string {
  try {
    return `is a symbolic link to ${fs.readlinkSync(file)}, which does not exist (ENOENT)`;
  } catch {
    return 'does not exist';
  }
}

/** The file's UTF-8 text; a FileError naming the file, the reason and `fix` if it cannot be read. */
export function readTextFile(file: string, fix: string): string {
  regularFile(file, fix);
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new FileError(file, `cannot be read (${errnoCode(err)})`, fix);
  }
}
