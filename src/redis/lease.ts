// One unit of a RedisSemaphore held by this process: a lease in Redis that
// runs out `leaseMs` after Redis last granted or renewed it (on the server's
// clock), renewed here every `refreshMs` while held.
//
// Redis decides who holds a unit; this side only has to stop trusting its
// lease no later than Redis lets it run out. A request that Redis ran
// (renewing the lease until its run + leaseMs) was sent before it ran, so
// "sent + leaseMs" on this host's monotonic clock is never later than the
// end Redis set, whatever either clock reads: the lease is reported lost
// when that time passes unconfirmed (Redis stalled, unreachable, or slower
// than refreshMs for too long), and at once when Redis says it is gone.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { inspect } from 'node:util';
import { SemaphoreError } from '../errors';
import type { RedisClient } from './options';
import { ACQUIRE, REFRESH, RELEASE, runScript } from './scripts';

/** What a lease needs from its semaphore. */
export interface LeaseOwner {
  readonly name: string;
  readonly client: RedisClient;
  /** KEYS of the acquire script: holders, token counter[, the 1.0 key]. */
  readonly keys: string[];
  readonly limit: number;
  readonly leaseMs: number;
  readonly refreshMs: number;
  /** A held lease is lost; `error` is ERR_SEMAPHORE_LEASE_LOST. */
  leaseLost(lease: Lease, error: SemaphoreError): void;
  /** Keeps a background promise (close() waits for it). */
  track<T>(promise: Promise<T>): Promise<T>;
}

const now = (): number => performance.now();
const noop = (): void => undefined;

// A grant answered too late is renewed before it is handed out; a Redis
// that slow this many times running is treated as busy.
const FRESHEN_TRIES = 3;

export class Lease {
  /** The fencing token of this grant: larger than every token granted before it on this semaphore. */
  readonly token: number;
  private readonly member: string;
  // When the last request that Redis confirmed was sent (monotonic ms).
  private confirmedAt: number;
  private state: 'taken' | 'held' | 'lost' | 'released' = 'taken';
  private lostError: SemaphoreError | undefined;
  private lastError: unknown; // the last Redis error of a refresh
  private refreshTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private refreshing = false;

  private constructor(
    private readonly owner: LeaseOwner,
    token: number,
    member: string,
    sentAt: number,
  ) {
    this.token = token;
    this.member = member;
    this.confirmedAt = sentAt;
  }

  /**
   * One try at taking a unit: the lease taken, or undefined when none is
   * free. Rejects with the client's error when Redis fails, and with
   * ERR_SEMAPHORE_REDIS when posix-semaphore 1.0 uses the same name.
   */
  static async take(owner: LeaseOwner): Promise<Lease | undefined> {
    const sentAt = now();
    const reply = await runScript(owner.client, ACQUIRE, owner.keys, [owner.limit, owner.leaseMs, randomUUID()]);
    if (Number(reply) === -1) throw olderVersion(owner.name, owner.keys[2]);
    if (!Array.isArray(reply)) return undefined;
    const lease = new Lease(owner, Number(reply[0]), String(reply[1]), sentAt);
    try {
      return (await lease.freshen()) ? lease : undefined;
    } catch (err) {
      lease.giveBackQuietly(); // else it runs out by itself
      throw err;
    }
  }

  // Granted, but the answer came so late (a stalled Redis ran the request
  // long after it was sent) that this side can vouch for little of the
  // lease: renew it before handing it out, so that a holder starts with a
  // lease it can trust rather than one reported lost at once.
  private async freshen(): Promise<boolean> {
    const { leaseMs, refreshMs } = this.owner;
    const stale = Math.max(refreshMs, Math.floor(leaseMs / 2));
    for (let tries = 0; now() - this.confirmedAt >= stale; tries++) {
      if (tries === FRESHEN_TRIES) {
        this.giveBackQuietly();
        return false;
      }
      const sentAt = now();
      if (!(await this.renew())) return false; // ran out before Redis ran the request: as if none was free
      this.confirmedAt = sentAt;
    }
    return true;
  }

  /** Starts keeping the lease: refreshes every refreshMs, and the deadline past which it is reported lost. */
  keep(): void {
    if (this.state !== 'taken') return;
    this.state = 'held';
    this.schedule();
  }

  /**
   * Gives the unit back. Rejects with ERR_SEMAPHORE_LEASE_LOST when the
   * lease was lost (reported before, or found gone now), and with the
   * client's error when Redis fails.
   */
  async release(): Promise<void> {
    this.stopTimers();
    if (this.state === 'lost') {
      this.state = 'released';
      this.giveBackQuietly(); // presumed lost: it may still be in Redis
      throw this.lostError as SemaphoreError; // set when the state became 'lost'
    }
    this.state = 'released';
    const given = await runScript(this.owner.client, RELEASE, this.owner.keys.slice(0, 1), [this.member]);
    if (Number(given) !== 1) {
      throw this.lostAt('release', 'Redis no longer had it when it was released (it had run out, or was removed)');
    }
  }

  private schedule(): void {
    this.stopTimers();
    const t = now();
    const { refreshMs, leaseMs } = this.owner;
    this.refreshTimer = setTimeout(() => void this.refresh(), Math.max(0, this.confirmedAt + refreshMs - t));
    this.refreshTimer.unref();
    this.deadlineTimer = setTimeout(() => this.expire(), Math.max(0, this.confirmedAt + leaseMs - margin(leaseMs, refreshMs) - t));
    this.deadlineTimer.unref();
  }

  private stopTimers(): void {
    clearTimeout(this.refreshTimer);
    clearTimeout(this.deadlineTimer);
  }

  private async refresh(): Promise<void> {
    if (this.state !== 'held' || this.refreshing) return;
    this.refreshing = true;
    const sentAt = now();
    let renewed: boolean;
    try {
      renewed = await this.renew();
    } catch (err) {
      // Redis unreachable: try again; the deadline reports the lease lost if this lasts.
      this.lastError = err;
      if (this.state === 'held') {
        this.refreshTimer = setTimeout(() => void this.refresh(), this.owner.refreshMs);
        this.refreshTimer.unref();
      }
      return;
    } finally {
      this.refreshing = false;
    }
    const state = this.state as Lease['state']; // changed meanwhile?
    if (state === 'lost') {
      if (renewed) this.giveBackQuietly(); // reported lost meanwhile: do not keep it taken
      return;
    }
    if (state !== 'held') return; // released meanwhile
    if (!renewed) {
      this.lose('Redis no longer has it (it ran out on the server, or was removed)');
      return;
    }
    this.confirmedAt = sentAt;
    this.schedule();
  }

  private expire(): void {
    if (this.state !== 'held') return;
    const why = this.lastError === undefined ? 'Redis did not answer' : `refreshing it failed: ${messageOf(this.lastError)}`;
    this.lose(`it was not renewed within leaseMs (${this.owner.leaseMs} ms): ${why}`);
  }

  private lose(reason: string): void {
    this.stopTimers();
    this.state = 'lost';
    this.owner.leaseLost(this, this.lostAt('refresh', reason));
  }

  private lostAt(syscall: string, reason: string): SemaphoreError {
    const name = this.owner.name;
    this.lostError = new SemaphoreError('ERR_SEMAPHORE_LEASE_LOST', {
      syscall,
      semaphore: name,
      message:
        `the lease on a unit of semaphore '${name}' (fencing token ${this.token}) was lost while this process held it: ` +
        `${reason}; another holder may have run meanwhile`,
      cause: this.lastError,
    });
    return this.lostError;
  }

  private async renew(): Promise<boolean> {
    const reply = await runScript(this.owner.client, REFRESH, this.owner.keys.slice(0, 1), [this.owner.leaseMs, this.member]);
    return Number(reply) === 1;
  }

  private giveBackQuietly(): void {
    void this.owner.track(runScript(this.owner.client, RELEASE, this.owner.keys.slice(0, 1), [this.member]).catch(noop));
  }
}

/**
 * How long before "sent + leaseMs" a lease stops being trusted: room for
 * clock-rate drift and a late timer (1% + 2 ms, as Redlock allows), never
 * more than half the time between a due refresh and the lease's end.
 */
export function margin(leaseMs: number, refreshMs: number): number {
  return Math.min(Math.floor(leaseMs / 100) + 2, Math.floor((leaseMs - refreshMs) / 2));
}

function olderVersion(name: string, legacyKey: string | undefined): SemaphoreError {
  return new SemaphoreError('ERR_SEMAPHORE_REDIS', {
    syscall: 'acquire',
    semaphore: name,
    message:
      `semaphore '${name}' is in use through the Redis key '${legacyKey}' by redis-semaphore ` +
      `(or the unpublished development tree of posix-semaphore that used it; leases on each client's clock), ` +
      "which does not see this package's holders nor they its: move every process that uses this name to posix-semaphore together",
  });
}

/** An error's message, for one line of text; what was thrown, shown, when it is not an Error. */
function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : inspect(err);
}
