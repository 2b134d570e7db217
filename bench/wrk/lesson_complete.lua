-- POST /v1/view/end: completes a lesson of an enrolment, with one active webhook subscription in the
-- tenant (bench.scenarios.build_workload), so a first completion writes its outbox events
-- (lesson.completed, and course.completed / certificate.issued when it is the course's last) and
-- queues the relay after the commit. Each thread walks the (enrolment, lesson) pairs from its own
-- random start, so completions stay first completions while the seeded pairs last.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local pairs_total, cursor = 0, 0

function on_init(args)
  for _, e in ipairs(data.enrolments) do pairs_total = pairs_total + #data.courses[e.c].lessons end
  cursor = math.random(pairs_total)
end

local function pair(n)
  for _, e in ipairs(data.enrolments) do
    local lessons = data.courses[e.c].lessons
    if n <= #lessons then return data.users[e.u], data.courses[e.c], lessons[n] end
    n = n - #lessons
  end
end

function request()
  cursor = cursor % pairs_total + 1
  local user, course, lesson = pair(cursor)
  local body = string.format(
    '{"request":{"userId":"%s","collectionId":"%s","batchId":"%s","contentId":"%s"}}',
    user.id, course.id, course.id, lesson)
  return wrk.format("POST", "/v1/view/end", user.headers, body)
end
