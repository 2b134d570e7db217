-- POST /lessons/tracking: start an attempt on a random lesson of a random enrolment. The seeded
-- lessons have resume off and unlimited attempts, so every request creates attempt n+1.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  local user, course = random_enrolment()
  local lesson = course.lessons[math.random(#course.lessons)]
  local body = string.format('{"lesson_id":"%s","course_id":"%s","user_id":"%s"}', lesson, course.id, user.id)
  return wrk.format("POST", "/lessons/tracking", user.headers, body)
end
