-- GET /courses/details/:id: a 20 x 20 course hierarchy (modules, lessons, media).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  local course = data.courses[math.random(#data.courses)]
  return wrk.format("GET", "/courses/details/" .. course.id, random_user().headers)
end
