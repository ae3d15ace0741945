-- GET /v1/flights/{id} with ids drawn uniformly from the seeded range.
-- Usage: wrk -s bench/lua/flights.lua http://127.0.0.1:P -- MIN_ID MAX_ID
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local min_id, max_id = 1, 1

function init(args)
  min_id = tonumber(args[1]) or 1
  max_id = tonumber(args[2]) or min_id
  -- Each wrk thread has its own Lua state; give each its own sequence.
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16))
end

function request()
  return wrk.format("GET", "/v1/flights/" .. math.random(min_id, max_id))
end
