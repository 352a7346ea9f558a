// Reading a whole text file where a missing or unreadable file is the user's to fix.
import * as fs from 'fs';
import { errnoCode, FileError } from '../errors';

/** The file's UTF-8 text; a FileError naming the file, the reason and `fix` if it cannot be read. */
export function readTextFile(file: string, fix: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new FileError(file, `cannot be read (${errnoCode(err)})`, fix);
  }
}
