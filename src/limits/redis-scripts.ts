// The Lua scripts of the Redis limit store: each admits, settles or counts one client key atomically.
import type { RedisClient } from '../redis/connection.js';
import { DAY_MS } from '../time-windows.js';

/**
 * Every script starts here: it reads the clock of Redis (never the gateway's, so instances whose clocks
 * disagree share one window), shifted by ARGV[1] (0 but in tests), and the key's counts in the current
 * minute and UTC day. One hash per client key holds them: `m` and `d` name the windows that `r` (requests),
 * `t` (minute tokens) and `dt` (day tokens) count. A window that has passed reads as 0 but for what it
 * carries over when it ended over its token limit (`lm`, `ld`: the limits of the key's last admission):
 * its excess less one limit's worth per window passed, kept in `c` (`dc`) as the part of `t` (`dt`) that
 * earlier windows carried (see `carriedOver` in limiter.ts). `unreserve` takes a reservation out of its
 * window, or out of what its window carried over. `replicate_commands` lets a script that read TIME write
 * on Redis before 5 (it is the default since).
 */
export const PRELUDE = `
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) + tonumber(ARGV[1])
local minute = math.floor(nowMs / 60000)
local day = math.floor(minute / 1440)
local stored = redis.call('HMGET', KEYS[1], 'm', 'r', 't', 'd', 'dt', 'c', 'dc', 'lm', 'ld')
local storedTpm, storedTpd = tonumber(stored[8]) or 0, tonumber(stored[9]) or 0
-- A window's tokens and the part of them carried over, from what is stored of the window it last counted.
local function roll(storedWindow, window, tokens, carry, limit)
  if storedWindow == window then return tonumber(tokens) or 0, tonumber(carry) or 0 end
  local elapsed = storedWindow and window - storedWindow or 0
  if limit <= 0 or elapsed <= 0 then return 0, 0 end
  local carried = math.max(0, (tonumber(tokens) or 0) - elapsed * limit)
  return carried, carried
end
local storedMinute = tonumber(stored[1])
local requests = storedMinute == minute and (tonumber(stored[2]) or 0) or 0
local minuteTokens, minuteCarry = roll(storedMinute, minute, stored[3], stored[6], storedTpm)
local dayTokens, dayCarry = roll(tonumber(stored[4]), day, stored[5], stored[7], storedTpd)
-- Takes a reservation's tokens out of a window that holds them, or else out of what an earlier window carried.
local function without(sameWindow, tokens, carry, reserved)
  if sameWindow then return math.max(0, tokens - reserved), carry end
  local back = math.min(carry, reserved)
  return tokens - back, carry - back
end
local function unreserve(reservedMinute, reserved)
  minuteTokens, minuteCarry = without(reservedMinute == minute, minuteTokens, minuteCarry, reserved)
  dayTokens, dayCarry = without(math.floor(reservedMinute / 1440) == day, dayTokens, dayCarry, reserved)
end
local function save(r, t, dt)
  redis.call('HSET', KEYS[1], 'm', minute, 'r', r, 't', t, 'd', day, 'dt', dt, 'c', minuteCarry, 'dc', dayCarry, 'lm', storedTpm, 'ld', storedTpd)
  redis.call('PEXPIRE', KEYS[1], ${2 * DAY_MS})
end
`;

/**
 * Admission of one or more requests of a key, in order: ARGV[2..4] the limits (0: none), ARGV[5..] the
 * tokens each reserves. Each is decided on the counts the ones before it left: when no limit is spent (the
 * rule of `decide`, which then builds its headers from the same counts), it is counted and reserves. Returns
 * the counts each was decided on, three numbers per request, then Redis's time.
 */
const ADMIT_SCRIPT = `${PRELUDE}
local rpm, tpm, tpd = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
storedTpm, storedTpd = tpm, tpd
local seen = {}
local admitted = false
for i = 5, #ARGV do
  local reserve = tonumber(ARGV[i])
  seen[#seen + 1] = requests
  seen[#seen + 1] = minuteTokens
  seen[#seen + 1] = dayTokens
  if not ((rpm > 0 and requests >= rpm) or (tpm > 0 and minuteTokens >= tpm) or (tpd > 0 and dayTokens >= tpd)) then
    requests, minuteTokens, dayTokens = requests + 1, minuteTokens + reserve, dayTokens + reserve
    admitted = true
  end
end
if admitted then save(requests, minuteTokens, dayTokens) end
seen[#seen + 1] = nowMs
return seen
`;

/**
 * Settles reservations when their requests end: for each triple ARGV[i..i+2] (the minute a reservation
 * was made in, its tokens, the tokens used), takes the reservation out of the windows that still hold it
 * and adds what was used to the current ones, as MOVE_SCRIPT does for one. What was used beyond the
 * reservation is charged here, to the current windows, which may go over their limits.
 */
const SETTLE_SCRIPT = `${PRELUDE}
for i = 2, #ARGV, 3 do
  local reservedMinute, reserved, add = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  unreserve(reservedMinute, reserved)
  minuteTokens, dayTokens = minuteTokens + add, dayTokens + add
end
save(requests, minuteTokens, dayTokens)
return 1
`;

/**
 * Moves a reservation: takes ARGV[5] tokens reserved in minute ARGV[4] out of the windows that still hold
 * them and adds ARGV[6] tokens to the current ones. With ARGV[7] = 1 this is decided like an admission on
 * the token limits ARGV[2..3], and a refusal changes nothing. Returns the counts without the reservation.
 */
const MOVE_SCRIPT = `${PRELUDE}
local tpm, tpd = tonumber(ARGV[2]), tonumber(ARGV[3])
local reservedMinute, reserved, add = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
storedTpm, storedTpd = tpm, tpd
unreserve(reservedMinute, reserved)
if ARGV[7] == '1' and ((tpm > 0 and minuteTokens >= tpm) or (tpd > 0 and dayTokens >= tpd)) then
  return {requests, minuteTokens, dayTokens, nowMs}
end
save(requests, minuteTokens + add, dayTokens + add)
return {requests, minuteTokens, dayTokens, nowMs}
`;

/** Adds ARGV[2] requests and ARGV[3] tokens to the current windows. */
const COUNT_SCRIPT = `${PRELUDE}
local tokens = tonumber(ARGV[3])
save(requests + tonumber(ARGV[2]), minuteTokens + tokens, dayTokens + tokens)
return 1
`;

/** Reads the current windows' counts. */
const READ_SCRIPT = `${PRELUDE}
return {requests, minuteTokens, dayTokens, nowMs}
`;

export const ADMIT_COMMAND = 'gatewayLimitAdmit';
export const SETTLE_COMMAND = 'gatewayLimitSettle';
export const MOVE_COMMAND = 'gatewayLimitMove';
export const COUNT_COMMAND = 'gatewayLimitCount';
export const READ_COMMAND = 'gatewayLimitRead';

export type Counted = [requests: number, minuteTokens: number, dayTokens: number, nowMs: number];

export type LimitClient = RedisClient & {
  [ADMIT_COMMAND](key: string, offsetMs: number, rpm: number, tpm: number, tpd: number, ...reserves: number[]): Promise<number[]>;
  [SETTLE_COMMAND](key: string, offsetMs: number, ...reservations: number[]): Promise<number>;
  [MOVE_COMMAND](key: string, offsetMs: number, tpm: number, tpd: number, minute: number, reserved: number, add: number, check: 0 | 1): Promise<Counted>;
  [COUNT_COMMAND](key: string, offsetMs: number, requests: number, tokens: number): Promise<number>;
  [READ_COMMAND](key: string, offsetMs: number): Promise<Counted>;
};

/** Teaches the connection's client the limit scripts, run by EVALSHA (EVAL once per connection when Redis does not know one yet). */
export function defineLimitCommands(client: RedisClient): void {
  client.defineCommand(ADMIT_COMMAND, { numberOfKeys: 1, lua: ADMIT_SCRIPT });
  client.defineCommand(SETTLE_COMMAND, { numberOfKeys: 1, lua: SETTLE_SCRIPT });
  client.defineCommand(MOVE_COMMAND, { numberOfKeys: 1, lua: MOVE_SCRIPT });
  client.defineCommand(COUNT_COMMAND, { numberOfKeys: 1, lua: COUNT_SCRIPT });
  client.defineCommand(READ_COMMAND, { numberOfKeys: 1, lua: READ_SCRIPT });
}
