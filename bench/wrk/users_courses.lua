-- GET /enrollments/users-courses?hasEnroll=true : the home screen of a user with 50 enrolments
-- (a page of up to 20 courses, each with its track, enrolment, module counts and next lesson).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  local user = data.heavy[math.random(#data.heavy)]
  return wrk.format("GET", "/enrollments/users-courses?hasEnroll=true&limit=20&userId=" .. user.id, user.headers)
end
