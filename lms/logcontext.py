"""The current request's id, for structured logs. Kept import-light: logging loads it early."""

import contextvars
import logging

current_resmsgid: contextvars.ContextVar[str] = contextvars.ContextVar("resmsgid", default="-")


class RequestIdLogFilter(logging.Filter):
    """Adds the current request's resmsgid to every log record.

    Django logs each 4xx/5xx response (`django.request`) after the middleware has finished
    and the context is reset; those records carry the request itself, so its id is taken
    from there.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        resmsgid = current_resmsgid.get()
        if resmsgid == "-":
            resmsgid = getattr(getattr(record, "request", None), "resmsgid", "-")
        record.resmsgid = resmsgid
        return True
