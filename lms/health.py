import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse

from lms.api.envelope import plain_json_view

logger = logging.getLogger("lms.health")


@plain_json_view("GET", "HEAD", api_id="api.health")
def health(request):
    """200 when the database answers, 503 otherwise; no auth, no tenant, no envelope (load balancers)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        logger.warning("Health check: the database does not answer: %s", error)
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok"})
