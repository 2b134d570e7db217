-- GET /v1/viewer/summary/list/:userId of a user with 50 enrolments.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  local user = data.heavy[math.random(#data.heavy)]
  return wrk.format("GET", "/v1/viewer/summary/list/" .. user.id, user.headers)
end
