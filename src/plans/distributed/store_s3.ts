// A store in an S3 bucket, or any S3-compatible server (MinIO, Ceph, a local test server):
//   s3://bucket/prefix                                   AWS, region and credentials from the environment
//   s3://bucket/prefix?endpoint=http://host:9000&region=us-east-1   another server (path-style addressing)
// A PUT makes an object visible whole or not at all, which is the atomicity the store needs.
import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../../errors';
import {
  DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { checkKey, type ArtifactStore } from './store';

export interface S3Location { bucket: string; prefix: string; endpoint?: string; region: string }

export function parseS3Url(url: string): S3Location {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError(`--store ${url}: not a URL. Fix: write s3://bucket/prefix`);
  }
  const bucket = u.hostname;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new UserError(`--store ${url}: "${bucket}" is not a bucket name. Fix: write s3://bucket/prefix with a bucket of 3 to 63 lower-case letters, digits, dots and hyphens`);
  }
  const prefix = decodeURIComponent(u.pathname).replace(/^\/+|\/+$/g, '');
  if (prefix !== '') checkKey(prefix);
  const known = new Set(['endpoint', 'region']);
  for (const k of u.searchParams.keys()) {
    if (!known.has(k)) throw new UserError(`--store ${url}: unknown parameter "${k}". Fix: use endpoint= and region= only`);
  }
  const endpoint = u.searchParams.get('endpoint') ?? undefined;
  const region = u.searchParams.get('region') ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  return { bucket, prefix, endpoint, region };
}

export class S3Store implements ArtifactStore {
  private constructor(private readonly client: S3Client, private readonly at: S3Location) {}

  static open(url: string): S3Store {
    const at = parseS3Url(url);
    // The SDK warns on Node 20 about its releases of 2027 and later; the lockfile pins one that supports Node 20.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const config: S3ClientConfig = {
      region: at.region,
      // Checksums only where S3 requires them: S3-compatible servers differ in which of the newer
      // checksum headers (and the chunked uploads they bring) they understand.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(at.endpoint ? { endpoint: at.endpoint, forcePathStyle: true } : {}),
    };
    return new S3Store(new S3Client(config), at);
  }

  get description(): string {
    return `s3://${this.at.bucket}/${this.at.prefix}${this.at.endpoint ? ` at ${this.at.endpoint}` : ''}`;
  }

  private key(key: string): string {
    checkKey(key);
    return this.at.prefix === '' ? key : `${this.at.prefix}/${key}`;
  }

  async readText(key: string): Promise<string | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.at.bucket, Key: this.key(key) }));
      return await (r.Body as { transformToString(): Promise<string> }).transformToString();
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async writeText(key: string, text: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.at.bucket, Key: this.key(key), Body: text, ContentType: 'application/json' }));
  }

  async upload(key: string, file: string): Promise<void> {
    const size = (await fs.promises.stat(file)).size;
    await this.client.send(new PutObjectCommand({
      Bucket: this.at.bucket, Key: this.key(key), Body: fs.createReadStream(file), ContentLength: size,
    }));
  }

  async download(key: string, file: string): Promise<boolean> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.at.bucket, Key: this.key(key) }));
      await pipeline(r.Body as Readable, fs.createWriteStream(file));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const full = this.at.prefix === '' ? prefix : `${this.at.prefix}/${prefix}`;
    const out: string[] = [];
    let token: string | undefined;
    do {
      const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.at.bucket, Prefix: full, ContinuationToken: token }));
      for (const o of r.Contents ?? []) if (o.Key) out.push(this.at.prefix === '' ? o.Key : o.Key.slice(this.at.prefix.length + 1));
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out.sort();
  }

  async remove(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000).map((k) => ({ Key: this.key(k) }));
      await this.client.send(new DeleteObjectsCommand({ Bucket: this.at.bucket, Delete: { Objects: batch, Quiet: true } }));
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}
