"""µs per request of a floor, in this process, through the WSGI application the server runs (issue 15).

    DATABASE_URL=postgres://…/<a copy of lms_bench_s> .venv/bin/python -m bench.floor.measure [--profile]

No server, no sockets: a loop calls `lms.wsgi.application` with the environ gunicorn builds for the
benchmark's request (bearer token, `tenantid`, `Content-Type`, as bench/wrk/common.lua sends them),
under the production settings the benchmark's server runs (bench/gunicorn_process.py), and reads
and closes each answer as gunicorn does. What it counts is the framework's share of a request: the
part that drf-hello / wsgi-hello compares. The first request of a token and tenant writes the
learner directory row, so point it at a copy of a seeded database, never at the seeded one.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import io
import os
import secrets
import statistics
import sys
import time

FLOORS = ("/bench/drf-hello", "/bench/db-hello")


def configure_environment() -> None:
    """The benchmark server's settings (bench.server.service_environment), in this process."""
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "lms.settings",
        "LMS_ENV": "production",
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "LMS_JWT_SECRET": os.environ.get("LMS_JWT_SECRET") or secrets.token_urlsafe(48),
        "CONN_MAX_AGE": "600",
        "LMS_BENCH_ENDPOINTS": "true",
    })


def environ_for(path: str, *, token: str, tenant_id: str) -> dict:
    """What gunicorn's gthread worker hands the application for wrk's GET (bench/wrk/common.lua)."""
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "RAW_URI": path,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "HTTP_TENANTID": tenant_id,
        "CONTENT_TYPE": "application/json",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.errors": sys.stderr,
        "wsgi.file_wrapper": None,
    }


def call(application, environ: dict) -> tuple[str, list, bytes]:
    answered: list = []

    def start_response(status, headers, exc_info=None):
        answered[:] = [status, headers]

    result = application({**environ, "wsgi.input": io.BytesIO(b"")}, start_response)
    try:
        body = b"".join(result)
    finally:
        result.close()  # request_finished, as gunicorn calls it
    return answered[0], answered[1], body


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=200, help="learners whose tokens take turns")
    parser.add_argument("--rounds", type=int, default=3, help="the median round is reported")
    parser.add_argument("--path", action="append", help="floor path(s); default: drf-hello and db-hello")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one round per path")
    args = parser.parse_args(argv)
    configure_environment()

    # First: importing the WSGI module sets Django up, which the model imports below need.
    application = importlib.import_module("lms.wsgi").application
    from bench import plan
    from lms.api.authentication import mint_token

    scale = plan.SCALES["S"]
    tenant_id = str(plan.tenant_id_for(scale))
    # As the benchmark does, many learners: one would reach its own rate limit (LMS_THROTTLE_USER).
    tokens = []
    for index in range(args.users):
        user_id = plan.learner_id(scale, index)
        short = str(user_id)[:8]
        tokens.append(mint_token(user_id=user_id, tenant_id=tenant_id, roles=["learner"], ttl_seconds=3600,
                                 name=f"Bench learner {short}", email=f"learner-{short}@bench.example.org"))
    for path in args.path or FLOORS:
        environs = [environ_for(path, token=token, tenant_id=tenant_id) for token in tokens]
        for environ in environs:  # warm: token cache, learner directory, tenant cache
            status, headers, body = call(application, environ)
            if not status.startswith("200"):
                raise SystemExit(f"{path} answered {status}: {body[:300]!r}")
        sequence = [environs[i % len(environs)] for i in range(args.requests)]
        # As gunicorn's post_worker_init (lms/gunicorn.conf.py): what is loaded by now lives as long as the
        # worker, and a full collection scanning it would land on one random request.
        gc.collect()
        gc.freeze()
        # CPU time of this thread, not the wall clock: on a shared machine the time spent waiting for a
        # CPU is not the request's cost (the benchmark's server has the machine to itself).
        rounds = []
        for _ in range(args.rounds):
            started = time.thread_time()
            for environ in sequence:
                call(application, environ)
            rounds.append((time.thread_time() - started) / args.requests * 1e6)
        print(f"{path}: {statistics.median(rounds):.1f} µs/request of CPU "
              f"(rounds: {', '.join(f'{r:.1f}' for r in rounds)})", flush=True)
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            for environ in sequence:
                call(application, environ)
            profiler.disable()
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime").print_stats(40)
            stats.sort_stats("cumulative").print_stats(60)


if __name__ == "__main__":
    main()
