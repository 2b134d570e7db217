-- PUT /lessons/tracking/:id, non-completing (current_position < total_content, status incomplete).
-- Each wrk thread owns a disjoint slice of the seeded attempts and walks it round-robin, so one
-- attempt is never updated by two requests at once and time_spent (seconds since the attempt
-- started) never goes down.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local mine, position = {}, 0

function on_init(args)
  for i, attempt in ipairs(data.attempts) do
    if (i - 1) % thread_count == (thread_index or 1) - 1 then mine[#mine + 1] = attempt end
  end
  if #mine == 0 then mine = data.attempts end
end

function request()
  position = position % #mine + 1
  local attempt = mine[position]
  local user = data.users[attempt.u]
  local body = string.format(
    '{"lesson_id":"%s","user_id":"%s","status":"incomplete","total_content":100,' ..
    '"current_position":%d,"time_spent":%d}',
    attempt.l, user.id, math.random(11, 90), os.time() - data.epoch)
  return wrk.format("PUT", "/lessons/tracking/" .. attempt.id, user.headers, body)
end
