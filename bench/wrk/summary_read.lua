-- POST /v1/viewer/summary/read: one enrolment's summary.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  local user, course = random_enrolment()
  local body = string.format('{"request":{"userId":"%s","collectionId":"%s","batchId":"%s"}}',
    user.id, course.id, course.id)
  return wrk.format("POST", "/v1/viewer/summary/read", user.headers, body)
end
