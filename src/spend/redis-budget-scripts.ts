// The Lua scripts of the Redis budget store. KEYS[1] and KEYS[2] are a key's spend in a UTC day and month;
// KEYS[3] a hash of what the key's requests in flight hold, one field per gateway instance (its id) and,
// beside it, `<id>:t`: when that instance's lease on it ends, by Redis's clock.
import type { RedisClient } from '../redis/connection.js';

/**
 * The held hash read: drops the fields of instances whose lease ended (an instance that died with requests
 * in flight holds nothing a lease later), and sums the rest, this instance's (ARGV[1]) apart. Defines `hold`
 * (writes this instance's field) and `addSpend` (adds spent micro-dollars to the day and the month).
 */
export const HELD = `
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local id = ARGV[1]
local fields = redis.call('HGETALL', KEYS[3])
local values = {}
for i = 1, #fields, 2 do values[fields[i]] = fields[i + 1] end
local others, own = 0, 0
for name, value in pairs(values) do
  if string.sub(name, -2) ~= ':t' then
    if (tonumber(values[name .. ':t']) or 0) < nowMs then
      redis.call('HDEL', KEYS[3], name, name .. ':t')
    elseif name == id then
      own = tonumber(value) or 0
    else
      others = others + (tonumber(value) or 0)
    end
  end
end
local function hold(micros, leaseMs)
  if micros > 0 then
    redis.call('HSET', KEYS[3], id, micros, id .. ':t', nowMs + leaseMs)
    redis.call('PEXPIRE', KEYS[3], leaseMs)
  else
    redis.call('HDEL', KEYS[3], id, id .. ':t')
  end
end
local function addSpend(micros, dayTtlMs, monthTtlMs)
  if micros > 0 then
    redis.call('INCRBY', KEYS[1], micros)
    redis.call('PEXPIRE', KEYS[1], dayTtlMs)
    redis.call('INCRBY', KEYS[2], micros)
    redis.call('PEXPIRE', KEYS[2], monthTtlMs)
  end
end
`;

/**
 * Decides the reservations ARGV[first..] in order, each when it fits both budgets beside what is held (`held`,
 * those admitted before it included): the rule of `fits` in budget-store.ts. Needs `dayLimit`, `monthLimit`,
 * `spentDay`, `spentMonth` and `held`; leaves `decided` (the spends, then per reservation whether it was
 * admitted and what was held before it) and `admitted` (the micro-dollars admitted).
 */
export function decideReservations(first: number): string {
  return `local function fits(limit, spent, micros) return limit < 0 or (spent < limit and spent + held + micros <= limit) end
local decided = {spentDay, spentMonth}
local admitted = 0
for i = ${first}, #ARGV do
  local micros = tonumber(ARGV[i])
  local allowed = 0
  if fits(dayLimit, spentDay, micros) and fits(monthLimit, spentMonth, micros) then allowed = 1 end
  decided[#decided + 1] = allowed
  decided[#decided + 1] = held
  if allowed == 1 then
    held = held + micros
    admitted = admitted + micros
  end
end`;
}

/**
 * Reserves, one after the other, the micro-dollars ARGV[5..] of a key's requests asked for in one turn: each
 * when it fits the budgets ARGV[2] (day) and ARGV[3] (month), -1 for none, beside what the key's requests in
 * flight hold, those admitted before it in the batch included (the rule of `fits` in budget-store.ts).
 * ARGV[4] is the lease. Returns the day's and the month's spend, then for each request whether it was
 * admitted (0 or 1) and what the key's requests in flight held before it.
 */
const RESERVE_SCRIPT = `${HELD}
local dayLimit, monthLimit = tonumber(ARGV[2]), tonumber(ARGV[3])
local spentDay = tonumber(redis.call('GET', KEYS[1])) or 0
local spentMonth = tonumber(redis.call('GET', KEYS[2])) or 0
local held = others + own
${decideReservations(5)}
if admitted > 0 then hold(own + admitted, tonumber(ARGV[4])) end
return decided
`;

/**
 * Settles: adds ARGV[2] micro-dollars to the day and month (kept ARGV[3] and ARGV[4] ms), and takes the
 * ARGV[5] this instance reserved for them off what it holds (lease ARGV[6]).
 */
const SETTLE_SCRIPT = `${HELD}
local released = tonumber(ARGV[5])
addSpend(tonumber(ARGV[2]), ARGV[3], ARGV[4])
if released > 0 or own > 0 then hold(math.max(0, own - released), tonumber(ARGV[6])) end
return 1
`;

/**
 * Renews this instance's lease (ARGV[2] ms) on what it holds; with ARGV[3] set, first sets that to ARGV[3]
 * micro-dollars: what this instance knows its requests in flight to hold, when no write of its own about them
 * is on its way (it heals what a write lost in a timeout left, or a lease that lapsed while Redis was away).
 */
const RENEW_SCRIPT = `${HELD}
if ARGV[3] ~= '' then own = tonumber(ARGV[3]) end
hold(own, tonumber(ARGV[2]))
return others
`;

/** Reads what the key's requests in flight hold, on every instance. */
const HELD_SCRIPT = `${HELD}
return others + own
`;

export const RESERVE_COMMAND = 'gatewayBudgetReserve';
export const SETTLE_COMMAND = 'gatewayBudgetSettle';
export const RENEW_COMMAND = 'gatewayBudgetRenew';
export const HELD_COMMAND = 'gatewayBudgetHeld';

export type BudgetClient = RedisClient & {
  [RESERVE_COMMAND](day: string, month: string, held: string, id: string, dayLimit: number, monthLimit: number, leaseMs: number, ...micros: number[]): Promise<number[]>;
  [SETTLE_COMMAND](day: string, month: string, held: string, id: string, micros: number, dayTtlMs: number, monthTtlMs: number, released: number, leaseMs: number): Promise<number>;
  [RENEW_COMMAND](day: string, month: string, held: string, id: string, leaseMs: number, heal: number | ''): Promise<number>;
  [HELD_COMMAND](day: string, month: string, held: string, id: string): Promise<number>;
};

/** Teaches the connection's client the budget scripts (EVALSHA, EVAL once per connection when Redis does not know one yet). */
export function defineBudgetCommands(client: RedisClient): void {
  client.defineCommand(RESERVE_COMMAND, { numberOfKeys: 3, lua: RESERVE_SCRIPT });
  client.defineCommand(SETTLE_COMMAND, { numberOfKeys: 3, lua: SETTLE_SCRIPT });
  client.defineCommand(RENEW_COMMAND, { numberOfKeys: 3, lua: RENEW_SCRIPT });
  client.defineCommand(HELD_COMMAND, { numberOfKeys: 3, lua: HELD_SCRIPT });
}
