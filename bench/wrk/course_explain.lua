-- GET /courses/tracking/explain?course_id= : a learner asks why a course of theirs is not complete.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  local user, course = random_enrolment()
  return wrk.format("GET", "/courses/tracking/explain?course_id=" .. course.id, user.headers)
end
