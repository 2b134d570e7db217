-- POST /v1/view/read: 10 consecutive lessons of a course, in the enrolment's context.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  local user, course = random_enrolment()
  local first = math.random(math.max(1, #course.lessons - 9))
  local ids = {}
  for i = first, math.min(first + 9, #course.lessons) do ids[#ids + 1] = '"' .. course.lessons[i] .. '"' end
  local body = string.format(
    '{"request":{"userId":"%s","contentId":[%s],"collectionId":"%s","batchId":"%s"}}',
    user.id, table.concat(ids, ","), course.id, course.id)
  return wrk.format("POST", "/v1/view/read", user.headers, body)
end
