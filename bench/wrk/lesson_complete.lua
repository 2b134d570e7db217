-- POST /v1/view/end: completes a lesson of an enrolment, with one active webhook subscription in the
-- tenant (bench.scenarios.build_workload), so a first completion writes its outbox events
-- (lesson.completed, and course.completed / certificate.issued when it is the course's last) and
-- queues the relay after the commit. Each thread walks the (lesson position, enrolment) pairs from
-- its own random start, enrolment fastest: the requests a thread has in flight at once belong to
-- different learners, as they would in a class (one learner does not finish eight lessons at the
-- same instant, and those would queue on the learner's one course track), and completions stay
-- first completions while the seeded pairs last.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local pairs_total, cursor, longest = 0, 0, 0

function on_init(args)
  for _, course in ipairs(data.courses) do longest = math.max(longest, #course.lessons) end
  pairs_total = #data.enrolments * longest
  cursor = math.random(pairs_total)
end

local function pair(n)
  local e = data.enrolments[(n - 1) % #data.enrolments + 1]
  local course = data.courses[e.c]
  local position = math.floor((n - 1) / #data.enrolments) % #course.lessons + 1
  return data.users[e.u], course, course.lessons[position]
end

function request()
  cursor = cursor % pairs_total + 1
  local user, course, lesson = pair(cursor)
  local body = string.format(
    '{"request":{"userId":"%s","collectionId":"%s","batchId":"%s","contentId":"%s"}}',
    user.id, course.id, course.id, lesson)
  return wrk.format("POST", "/v1/view/end", user.headers, body)
end
