// The Lua script of leased admission (limits.admission: lease): one call per key gives a lease back, admits
// requests exactly as the admission script does, and takes a new share of what the windows have left.
import type { RedisClient } from '../redis/connection.js';
import { PRELUDE } from './redis-scripts.js';

/**
 * ARGV[2..4] the limits (0: none), ARGV[5] the share of what is left that the new lease takes (0: none).
 * ARGV[6] the minute of a lease given back (-1: none), ARGV[7] its tokens not used (taken out of that
 * minute as a reservation is), ARGV[8] tokens used beyond it (added to the current windows), ARGV[9] its
 * requests not used (negative: requests counted beyond it, added). ARGV[10..] the tokens each request to
 * admit reserves: decided in order, each on what the ones before it left (the admission script's rule). The
 * lease is taken only when no limit is spent: a share of the requests left this minute and of the tokens
 * left in the tighter of the minute and the day, held in the windows like a reservation. Returns the counts
 * each request was decided on (three numbers each), then the counts before the grant, the requests and
 * tokens granted, and Redis's time.
 */
const LEASE_SCRIPT = `${PRELUDE}
local rpm, tpm, tpd, share = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
storedTpm, storedTpd = tpm, tpd
local changed = false
local returnedMinute = tonumber(ARGV[6])
if returnedMinute >= 0 then
  unreserve(returnedMinute, tonumber(ARGV[7]))
  if returnedMinute == minute then requests = math.max(0, requests - tonumber(ARGV[9])) end
  changed = true
end
local over = tonumber(ARGV[8])
if over > 0 then
  minuteTokens, dayTokens = minuteTokens + over, dayTokens + over
  changed = true
end
local function spent()
  return (rpm > 0 and requests >= rpm) or (tpm > 0 and minuteTokens >= tpm) or (tpd > 0 and dayTokens >= tpd)
end
local seen = {}
for i = 10, #ARGV do
  local reserve = tonumber(ARGV[i])
  seen[#seen + 1] = requests
  seen[#seen + 1] = minuteTokens
  seen[#seen + 1] = dayTokens
  if not spent() then
    requests, minuteTokens, dayTokens = requests + 1, minuteTokens + reserve, dayTokens + reserve
    changed = true
  end
end
seen[#seen + 1] = requests
seen[#seen + 1] = minuteTokens
seen[#seen + 1] = dayTokens
local grantedRequests, grantedTokens = 0, 0
if share > 0 and not spent() then
  if rpm > 0 then grantedRequests = math.floor(share * (rpm - requests)) end
  local left = -1
  if tpm > 0 then left = tpm - minuteTokens end
  if tpd > 0 and (left < 0 or tpd - dayTokens < left) then left = tpd - dayTokens end
  if left > 0 then grantedTokens = math.floor(share * left) end
  if grantedRequests > 0 or grantedTokens > 0 then
    requests, minuteTokens, dayTokens = requests + grantedRequests, minuteTokens + grantedTokens, dayTokens + grantedTokens
    changed = true
  end
end
if changed then save(requests, minuteTokens, dayTokens) end
seen[#seen + 1] = grantedRequests
seen[#seen + 1] = grantedTokens
seen[#seen + 1] = nowMs
return seen
`;

export const LEASE_COMMAND = 'gatewayLimitLease';

/** What a lease call gives back: the minute of the lease it ends (-1: none), its unused tokens, its excess, its unused requests. */
export type LeaseReturn = [minute: number, tokens: number, over: number, requests: number];

export const NO_RETURN: LeaseReturn = [-1, 0, 0, 0];

export type LeaseClient = RedisClient & {
  [LEASE_COMMAND](key: string, offsetMs: number, rpm: number, tpm: number, tpd: number, share: number, ...rest: number[]): Promise<number[]>;
};

export function defineLeaseCommand(client: RedisClient): void {
  client.defineCommand(LEASE_COMMAND, { numberOfKeys: 1, lua: LEASE_SCRIPT });
}
