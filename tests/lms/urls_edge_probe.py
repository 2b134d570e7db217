"""A test-only URLconf: a plain Django view left under the CSRF middleware, then the real routes.

It stands for any future plain view that forgets the exemption: its CSRF failure must still be
an envelope (CSRF_FAILURE_VIEW), not Django's HTML page.
"""

from django.http import JsonResponse
from django.urls import path

from lms import urls as lms_urls


def plain_write(request):
    return JsonResponse({"written": True})


urlpatterns = [path("probe/plain-write", plain_write), *lms_urls.urlpatterns]
