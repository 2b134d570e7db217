-- GET /courses/:id/report as a tenant admin: every figure of a random course (issue 13).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  local course = data.courses[math.random(#data.courses)]
  return wrk.format("GET", "/courses/" .. course.id .. "/report", data.admin.headers)
end
