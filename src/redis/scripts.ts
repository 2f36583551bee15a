// The Lua scripts that keep a RedisSemaphore, and how they are run.
//
// One sorted set per semaphore holds its holders, each scored by the time
// its lease runs out on the Redis server's clock (TIME inside the script):
// a request is judged when Redis runs it, not when a client sent it, so
// requests that queue up while Redis stalls cannot push a fresh lease out,
// and no client's clock matters. A counter beside it gives each grant its
// fencing token. Redis runs a script atomically, so "drop the expired,
// count, add" is one step for every client.
import { createHash } from 'node:crypto';
import type { RedisClient } from './options';

// Redis 3.2-4.x replicate a script by its text unless told to replicate its
// effects, and refuse a write after TIME; Redis >= 5 does this by default
// (7 keeps the call as a no-op).
const PRELUDE = `
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local function keepUntilLastLease(key)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if last[2] then redis.call('PEXPIRE', key, math.ceil(tonumber(last[2]) - now)) end
end
`;

export interface Script {
  readonly lua: string;
  readonly sha1: string;
}

function script(body: string): Script {
  const lua = PRELUDE + body;
  return { lua, sha1: createHash('sha1').update(lua).digest('hex') };
}

/**
 * KEYS: holders, token counter[, the key posix-semaphore 1.0 used]; ARGV: limit, leaseMs, id.
 * Returns 0 when `limit` holders hold a live lease, -1 when the 1.0 key is
 * in use (the versions would not see each other's units), else {token, member}.
 * The token is max(last token + 1, the server's TIME in µs): larger than
 * every token before it as long as no server's clock (the one that restarted
 * empty, the replica promoted) is behind the last grant's (docs/redis.md).
 */
export const ACQUIRE = script(`
if KEYS[3] and redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
-- The token only goes up, even where Redis lost the counter (a restart
-- without persistence, a failover to a replica that missed the last
-- writes): the larger of the last + 1 and the server's TIME in
-- microseconds (exact in a double until the year 2255).
local last = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
local token = math.max(last + 1, tonumber(time[1]) * 1000000 + tonumber(time[2]))
redis.call('SET', KEYS[2], string.format('%d', token))
local member = string.format('%d:%s', token, ARGV[3])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), member)
keepUntilLastLease(KEYS[1])
return {token, member}
`);

/** KEYS: holders; ARGV: leaseMs, member. 1: renewed for leaseMs from now; 0: the lease is gone (ran out or removed). */
export const REFRESH = script(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[2])
keepUntilLastLease(KEYS[1])
return 1
`);

/** KEYS: holders; ARGV: member. 1: given back; 0: the lease was gone or had run out (lost), removed anyway. */
export const RELEASE = script(`
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not score or tonumber(score) <= now then return 0 end
return 1
`);

/**
 * Runs `s` by its SHA1 (EVALSHA), sending its text (EVAL) only when the
 * server does not have it yet. This is what ioredis's defineCommand does,
 * without adding commands to a client the user owns.
 */
export async function runScript(client: RedisClient, s: Script, keys: string[], args: (string | number)[]): Promise<unknown> {
  try {
    return await client.evalsha(s.sha1, keys.length, ...keys, ...args);
  } catch (err) {
    if (!String((err as Error)?.message).startsWith('NOSCRIPT')) throw err;
    return client.eval(s.lua, keys.length, ...keys, ...args);
  }
}
