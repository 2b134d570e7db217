import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings")
# What django.core.wsgi.get_wsgi_application() does, with the handler that remembers literal routes.
django.setup(set_prefix=False)

from lms.api.handler import LmsWSGIHandler  # noqa: E402 -- after setup: it imports the URL machinery

application = LmsWSGIHandler()
