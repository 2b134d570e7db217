-- GET /enrollments?user_id= : a learner's own enrollments with course details.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  local user = random_user()
  return wrk.format("GET", "/enrollments?user_id=" .. user.id, user.headers)
end
