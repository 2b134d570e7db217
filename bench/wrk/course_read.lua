-- GET /courses/:id of a random published course.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  local course = data.courses[math.random(#data.courses)]
  return wrk.format("GET", "/courses/" .. course.id, random_user().headers)
end
