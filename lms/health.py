from django.db import DatabaseError, connection
from django.http import JsonResponse


def health(request):
    """200 when the database answers, 503 otherwise; no auth, no tenant, no envelope."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok"})
