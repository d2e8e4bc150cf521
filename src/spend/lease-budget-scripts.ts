// The Lua script of leased budgets (limits.admission: lease): one call per key writes the costs a lease
// gathered, reserves requests exactly as the reservation script does, and takes a new share of what is left.
import type { RedisClient } from '../redis/connection.js';
import { decideReservations, HELD } from './redis-budget-scripts.js';

/**
 * KEYS as the budget scripts'. ARGV[2] and ARGV[3] the day's and the month's budgets (-1: none), ARGV[4] the
 * hold's lease, ARGV[5] the share of what is left that this instance takes (0: none). ARGV[6] micro-dollars
 * the lease's ended requests cost (added to the day and the month, kept ARGV[8] and ARGV[9] ms), ARGV[7] what
 * they free of this instance's hold. ARGV[10..] the reservations to decide, in order (the reservation script's rule).
 * The grant is the share of the least that is left of a budget once spend and every instance's holds are
 * counted; it is held like a reservation. Returns the day's and the month's spend, whether each reservation
 * was admitted and what was held before it, then the grant and what the other instances hold.
 */
const LEASE_SCRIPT = `${HELD}
local dayLimit, monthLimit, share = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[5])
addSpend(tonumber(ARGV[6]), ARGV[8], ARGV[9])
own = math.max(0, own - tonumber(ARGV[7]))
local spentDay = tonumber(redis.call('GET', KEYS[1])) or 0
local spentMonth = tonumber(redis.call('GET', KEYS[2])) or 0
local held = others + own
${decideReservations(10)}
own = own + admitted
local granted = 0
if share > 0 then
  local left = nil
  if dayLimit >= 0 then left = dayLimit - spentDay - held end
  if monthLimit >= 0 and (left == nil or monthLimit - spentMonth - held < left) then left = monthLimit - spentMonth - held end
  if left ~= nil and left > 0 then granted = math.floor(share * left) end
end
hold(own + granted, tonumber(ARGV[4]))
decided[#decided + 1] = granted
decided[#decided + 1] = others
return decided
`;

export const LEASE_BUDGET_COMMAND = 'gatewayBudgetLease';

export type LeaseBudgetClient = RedisClient & {
  [LEASE_BUDGET_COMMAND](
    day: string,
    month: string,
    held: string,
    id: string,
    dayLimit: number,
    monthLimit: number,
    leaseMs: number,
    share: number,
    written: number,
    released: number,
    dayTtlMs: number,
    monthTtlMs: number,
    ...micros: number[]
  ): Promise<number[]>;
};

export function defineLeaseBudgetCommand(client: RedisClient): void {
  client.defineCommand(LEASE_BUDGET_COMMAND, { numberOfKeys: 3, lua: LEASE_SCRIPT });
}
