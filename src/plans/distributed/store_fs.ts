// A store in a directory that every machine mounts at the same or another path (NFS, SMB, a
// local disk when all workers run on one machine). Objects are files under the root, written
// under a temporary sibling name and renamed into place, which is atomic on POSIX file systems
// and on NFS.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileError } from '../../errors';
import { temporarySibling, writeFileAtomic } from '../../io/atomic';
import { checkKey, type ArtifactStore } from './store';

export class FsStore implements ArtifactStore {
  private constructor(readonly root: string) {}

  static open(dir: string): FsStore {
    const root = path.resolve(dir);
    try {
      fs.mkdirSync(root, { recursive: true });
      fs.accessSync(root, fs.constants.W_OK);
    } catch (err) {
      throw new FileError(root, `cannot be used as the store (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
        'give --store a directory this user can write, mounted on every machine');
    }
    return new FsStore(root);
  }

  get description(): string {
    return this.root;
  }

  private file(key: string): string {
    return path.join(this.root, ...checkKey(key).split('/'));
  }

  async readText(key: string): Promise<string | undefined> {
    try {
      return await fs.promises.readFile(this.file(key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async writeText(key: string, text: string): Promise<void> {
    writeFileAtomic(this.file(key), text);
  }

  async upload(key: string, file: string): Promise<void> {
    const target = this.file(key);
    await fs.promises.mkdir(path.dirname(target), { recursive: true });
    const tmp = temporarySibling(target);
    try {
      await fs.promises.copyFile(file, tmp);
      await fs.promises.rename(tmp, target);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      throw err;
    }
  }

  async download(key: string, file: string): Promise<boolean> {
    try {
      await fs.promises.copyFile(this.file(key), file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    // The directory that holds every key with this prefix, walked; temporaries are no objects.
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash);
    const dir = base === '' ? this.root : this.file(base);
    const out: string[] = [];
    const walk = async (d: string, rel: string): Promise<void> => {
      let entries: fs.Dirent[];
      try {
        entries = await fs.promises.readdir(d, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        if (e.name.startsWith('.')) continue;
        const key = rel === '' ? e.name : `${rel}/${e.name}`;
        if (e.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(path.join(d, e.name), key);
        } else if (key.startsWith(prefix)) {
          out.push(key);
        }
      }
    };
    await walk(dir, base);
    return out.sort();
  }

  async remove(keys: string[]): Promise<void> {
    for (const key of keys) {
      const file = this.file(key);
      await fs.promises.rm(file, { force: true });
      // Empty directories left behind go too, but not the top three levels (e.g. jobs/<key>/snap),
      // which a concurrent writer may have just made and be about to fill.
      for (let d = path.dirname(file); path.relative(this.root, d).split(path.sep).length > 3; d = path.dirname(d)) {
        try {
          await fs.promises.rmdir(d);
        } catch {
          break;
        }
      }
    }
  }

  async close(): Promise<void> {
    // Nothing is held open.
  }
}
