-- GET /courses/search?q= : a learner's catalogue search by a word of the titles (full-text on PostgreSQL).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  local user = random_user()
  return wrk.format("GET", "/courses/search?q=course", user.headers)
end
