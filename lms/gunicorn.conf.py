"""gunicorn settings: gthread workers sized for the machine, loopback by default, JSON access logs."""

import os


def _available_cpus() -> int:
    # Honours CPU affinity (containers, taskset); cpu_count() would report the whole host.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


bind = f"{os.environ.get('BIND_HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
worker_class = "gthread"
# One process per CPU keeps every core busy despite the GIL; threads overlap database waits.
# Not CPUs + 1: on 2 CPUs the extra process only added context switches, and the p99 latency
# under load was 2-3x worse at the same throughput (bench/, docs/benchmarks.md).
# Capped so that a large host does not start dozens of ~80 MB processes by default.
workers = int(os.environ.get("WEB_CONCURRENCY", min(_available_cpus(), 16)))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 20
keepalive = 5
# A safety net against slow leaks, not a routine: each restart drops the worker's warm caches
# (rendered course trees, prepared statements) and stalls its connections while it boots. At
# 10,000 a busy worker restarted every few seconds at peak, which showed as latency tails.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 1_000_000))
max_requests_jitter = max_requests // 20
limit_request_line = 8190
limit_request_fields = 100
# gunicorn >= 25.1 opens a control socket for `gunicornc` at one path per host user
# ($XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl): every instance of that user takes
# over the same socket, so the tool would steer whichever server started last. Off unless an
# operator names a path of this instance's own.
control_socket_path = os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip()
if control_socket_path:
    control_socket = control_socket_path
else:
    control_socket_disable = True
accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG", "1") == "1" else None
errorlog = "-"
# One JSON object per request; `resmsgid` matches the envelope and the application's log lines.
access_log_format = (
    '{"time": "%(t)s", "logger": "gunicorn.access", "remote": "%(h)s", "method": "%(m)s", '
    '"path": "%(U)s", "query": "%(q)s", "status": %(s)s, "bytes": "%(B)s", "duration_ms": %(M)s, '
    '"resmsgid": "%({x-request-id}o)s", "user_agent": "%(a)s"}'
)


def post_worker_init(worker):
    # Everything loaded so far (Django, the URL conf, the models) lives as long as the worker:
    # moving it out of the collector's view keeps full collections short, so no request waits
    # behind a scan of the whole application. The task publisher starts first (it loads the task
    # modules and connects to the broker), so no request pays for that on the first event.
    import gc

    from lms.celery import publisher_warm

    publisher_warm()
    gc.freeze()
