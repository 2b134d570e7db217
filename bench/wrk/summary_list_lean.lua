-- GET /v1/viewer/summary/list/:userId?fields= of a user with 50 enrolments: the lean call for
-- dashboards (progress, status, dates and collection of every enrolment; no contentStatus,
-- assessmentStatus or issuedCertificates).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  local user = data.heavy[math.random(#data.heavy)]
  return wrk.format("GET", "/v1/viewer/summary/list/" .. user.id .. "?fields=", user.headers)
end
