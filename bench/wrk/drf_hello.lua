-- Read floor: GET /bench/drf-hello (auth, tenant, envelope; constant body).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  return wrk.format("GET", "/bench/drf-hello", random_user().headers)
end
