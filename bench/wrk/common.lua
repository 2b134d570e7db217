-- Shared by every benchmark script: loads the seeded ids, spreads requests over many users
-- and contents, counts responses per status and prints one JSON line from done().
-- Environment: BENCH_DATA (data.txt written by the harness), BENCH_THREADS (wrk -t).

local function load_data(path)
  local d = { users = {}, heavy = {}, courses = {}, enrolments = {}, attempts = {} }
  for line in io.lines(path) do
    local kind, rest = line:match("^(%S+)%s+(.*)$")
    if kind == "user" or kind == "heavy" then
      local id, token = rest:match("^(%S+)%s+(%S+)$")
      local list = (kind == "user") and d.users or d.heavy
      list[#list + 1] = { id = id, token = token }
    elseif kind == "course" then
      local id, csv = rest:match("^(%S+)%s+(%S+)$")
      local lessons = {}
      for lesson in csv:gmatch("[^,]+") do lessons[#lessons + 1] = lesson end
      d.courses[#d.courses + 1] = { id = id, lessons = lessons }
    elseif kind == "enrol" then
      local u, c = rest:match("^(%d+)%s+(%d+)$")
      d.enrolments[#d.enrolments + 1] = { u = tonumber(u), c = tonumber(c) }
    elseif kind == "attempt" then
      local id, u, lesson, c = rest:match("^(%S+)%s+(%d+)%s+(%S+)%s+(%d+)$")
      d.attempts[#d.attempts + 1] = { id = id, u = tonumber(u), l = lesson, c = tonumber(c) }
    elseif kind == "admin" then
      d.admin_token = rest
    elseif kind == "tenant" then
      d.tenant = rest
    elseif kind == "epoch" then
      d.epoch = tonumber(rest)
    end
  end
  return d
end

data = load_data(os.getenv("BENCH_DATA"))
thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")

local function with_headers(list)
  for _, user in ipairs(list) do
    user.headers = {
      ["Authorization"] = "Bearer " .. user.token,
      ["tenantid"] = data.tenant,
      ["Content-Type"] = "application/json",
    }
  end
end
with_headers(data.users)
with_headers(data.heavy)
-- A tenant admin, for the staff-only reads (the course report).
data.admin = { token = data.admin_token or "" }
with_headers({ data.admin })

-- Number the threads: each seeds its own random stream and takes its own slice of the attempts.
local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_index", #threads)
end

-- No response() callback: with one, wrk hands every body to Lua as a string, and for the
-- large bodies (a 20 x 20 course tree is ~400 kB) the client's own copying and garbage collection
-- showed up as server latency. wrk counts answers with status >= 400 itself (summary.errors.status).

function init(args)
  math.randomseed(os.time() * 100 + (thread_index or 1))
  if on_init then on_init(args) end
end

function random_user()
  return data.users[math.random(#data.users)]
end

-- A direct enrolment (batch = course id) of a user who has a token: {user, course}.
function random_enrolment()
  local e = data.enrolments[math.random(#data.enrolments)]
  return data.users[e.u], data.courses[e.c]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p75":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f,"stdev":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(75), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, latency.stdev))
end
