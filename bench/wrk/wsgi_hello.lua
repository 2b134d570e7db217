-- The server's ceiling: GET /bench/wsgi-hello, a bare WSGI callable under the same gunicorn
-- configuration (bench/wsgi_hello.py), sent the same headers as the drf-hello floor.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  return wrk.format("GET", "/bench/wsgi-hello", random_user().headers)
end
