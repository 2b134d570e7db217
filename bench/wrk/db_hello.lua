-- Read floor: GET /bench/db-hello (auth, tenant, one primary-key SELECT, the envelope).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  return wrk.format("GET", "/bench/db-hello", random_user().headers)
end
