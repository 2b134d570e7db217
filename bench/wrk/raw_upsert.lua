-- Write floor: POST /bench/raw-upsert, one INSERT ... ON CONFLICT DO UPDATE over 100,000 keys.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  local body = string.format('{"key":"00000000-0000-4000-8000-%012d"}', math.random(1, 100000))
  return wrk.format("POST", "/bench/raw-upsert", random_user().headers, body)
end
