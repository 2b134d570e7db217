-- POST /v1/view/update: progress (1-99, never completing) on a random lesson of a random enrolment.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  local user, course = random_enrolment()
  local lesson = course.lessons[math.random(#course.lessons)]
  local body = string.format(
    '{"request":{"userId":"%s","collectionId":"%s","batchId":"%s","contentId":"%s","progress":%d}}',
    user.id, course.id, course.id, lesson, math.random(1, 99))
  return wrk.format("POST", "/v1/view/update", user.headers, body)
end
