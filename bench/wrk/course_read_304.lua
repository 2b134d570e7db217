-- GET /courses/:id with the ETag the course answered before (If-None-Match): the 304 a polling
-- player gets while nothing changed. The harness writes the ETags into the data file.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local etags = {}
for line in io.lines(os.getenv("BENCH_DATA")) do
  local id, etag = line:match("^etag%s+(%S+)%s+(.+)$")
  if id then etags[#etags + 1] = { id = id, etag = etag } end
end

function request()
  local entry = etags[math.random(#etags)]
  local headers = {}
  for key, value in pairs(random_user().headers) do headers[key] = value end
  headers["If-None-Match"] = entry.etag
  return wrk.format("GET", "/courses/" .. entry.id, headers)
end
