// What the runner and the workers agree on about the queue: its name, how to connect, how a
// failure says what kind it is, and the channel cancellations go over.
import IORedis, { type Redis } from 'ioredis';
import { UserError } from '../../errors';
import { redactUrl } from './settings';

/** BullMQ key prefix and queue name: the queue's keys are deepfusion:jobs:*. */
export const QUEUE_PREFIX = 'deepfusion';
export const QUEUE_NAME = 'jobs';
/** Runners publish the keys of jobs to cancel here; every worker listens. */
export const CANCEL_CHANNEL = `${QUEUE_PREFIX}:${QUEUE_NAME}:cancel`;

/** The queue's job id of a job key (BullMQ refuses ids that look like integers). */
export const queueJobId = (key: string): string => `job-${key}`;
export const keyOfQueueJobId = (id: string): string => id.replace(/^job-/, '');

/** Attempts of a job that fails for a reason other than the user's (a crashed process, a lost machine). */
export const ATTEMPTS = 3;
/** How often a job may be found stalled (its worker gone) before it fails. */
export const MAX_STALLED = 3;

/** Failure reasons start with these marks; they decide whether a job is retried and how it is reported. */
export const FAILURE = {
  /** Bad settings, bad data, a refused message: failing again would not help; exit 2 at the runner. */
  user: 'user error: ',
  /** A runner cancelled the job (Ctrl-C). */
  cancelled: 'cancelled: ',
};

/**
 * A connection to the queue's Redis. Commands wait through disconnections (a Redis restart, a
 * network cut) instead of failing, and ioredis reconnects by itself; BullMQ's workers require this.
 */
export function connect(url: string): Redis {
  const redis = new IORedis(url, { maxRetriesPerRequest: null, lazyConnect: false });
  // Errors while reconnecting are expected; they surface as commands that wait, not as crashes.
  redis.on('error', () => undefined);
  return redis;
}

/** Waits until a connection is up; fails with a one-line message at once on a refused password, else after `seconds`. */
export async function waitReady(redis: Redis, url: string, seconds = 15): Promise<void> {
  if (redis.status === 'ready') return;
  const where = `the queue at ${redactUrl(url)}`;
  await new Promise<void>((resolve, reject) => {
    let last = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new UserError(`no answer from ${where} within ${seconds} s${last ? ` (${last})` : ''}. ` +
        'Fix: start redis-server there, or give --queue the right host, port and password'));
    }, seconds * 1000);
    const onReady = (): void => { cleanup(); resolve(); };
    const onError = (err: Error): void => {
      last = err.message;
      if (/WRONGPASS|NOAUTH|invalid password/i.test(last)) {
        cleanup();
        reject(new UserError(`${where} refused the password (${last}). Fix: give the password Redis expects, as redis://:password@host:port`));
      }
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
    };
    redis.on('ready', onReady);
    redis.on('error', onError);
  });
}
