-- wrk at a fixed request rate: `wrk -t1 -cN -s bench/paced.lua URL -- RATE`.
-- wrk asks delay() how long a connection waits before its next request; each call takes
-- the next slot of one schedule, 1/RATE seconds apart, so the connections together send
-- RATE requests a second whatever each request's latency (while N connections cover it).
-- wrk times a request from its send, after the delay. Slots a stall of the machine let pass
-- are sent at once (as fortio catches up), so the rate holds over the run; a schedule the
-- connections cannot keep shows in wrk's Requests/sec, below RATE.
local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } paced_timespec;
int clock_gettime(int clock, paced_timespec *now);
]])
local CLOCK_MONOTONIC = 1
local clock = ffi.new("paced_timespec")
local interval, slot

local function milliseconds()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1e3 + tonumber(clock.tv_nsec) / 1e6
end

function init(args)
  interval = 1e3 / tonumber(args[1])
end

function delay()
  local now = milliseconds()
  slot = slot or now
  local wait = math.max(slot - now, 0)
  slot = slot + interval
  return math.floor(wait + 0.5) -- wrk's timers count whole milliseconds
end
