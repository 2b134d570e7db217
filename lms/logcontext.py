"""The current request's id, for structured logs. Kept import-light: logging loads it early."""

import contextvars
import logging

current_resmsgid: contextvars.ContextVar[str] = contextvars.ContextVar("resmsgid", default="-")


class RequestIdLogFilter(logging.Filter):
    """Adds the current request's resmsgid to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.resmsgid = current_resmsgid.get()
        return True
