"""Where uploaded media (course and module images) is stored, from the environment.

The embedded default keeps files on local disk under MEDIA_ROOT and serves them itself. With
several app instances (docs/scaling.md) a file written by one must be readable through every
other, so `LMS_MEDIA_STORAGE=s3` puts them in an S3 bucket (AWS, MinIO, Ceph, moto in tests)
through django-storages; the settings keep django-storages' own names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FILESYSTEM = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
S3 = "storages.backends.s3.S3Storage"


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def media_storage(environ: Mapping[str, str]) -> dict[str, Any]:
    """The `STORAGES["default"]` entry for `environ`. Raises ValueError for an unknown
    LMS_MEDIA_STORAGE, or for s3 without a bucket, so that a misconfigured deployment fails at
    start rather than at the first upload."""
    kind = environ.get("LMS_MEDIA_STORAGE", "local").strip().lower() or "local"
    if kind == "local":
        backend = environ.get("MEDIA_STORAGE_BACKEND")  # an explicit backend, as before this switch
        return {"BACKEND": backend} if backend else dict(FILESYSTEM)
    if kind != "s3":
        raise ValueError(f"LMS_MEDIA_STORAGE must be 'local' or 's3', not {kind!r}.")
    bucket = environ.get("AWS_STORAGE_BUCKET_NAME", "")
    if not bucket:
        raise ValueError("LMS_MEDIA_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME (and credentials from the environment).")
    options: dict[str, Any] = {
        "bucket_name": bucket,
        # Uploads get generated names (courses.images), so overwriting is never wanted.
        "file_overwrite": False,
        # Signed URLs by default: the bucket can stay private. With a public bucket or a CDN in
        # front (AWS_S3_CUSTOM_DOMAIN), AWS_QUERYSTRING_AUTH=false gives stable, cacheable URLs.
        "querystring_auth": _flag(environ.get("AWS_QUERYSTRING_AUTH", "true")),
    }
    optional = {
        "endpoint_url": "AWS_S3_ENDPOINT_URL",
        "region_name": "AWS_S3_REGION_NAME",
        "access_key": "AWS_ACCESS_KEY_ID",
        "secret_key": "AWS_SECRET_ACCESS_KEY",
        "custom_domain": "AWS_S3_CUSTOM_DOMAIN",
        "location": "AWS_LOCATION",
    }
    options.update({option: environ[name] for option, name in optional.items() if environ.get(name)})
    if environ.get("AWS_QUERYSTRING_EXPIRE"):
        options["querystring_expire"] = int(environ["AWS_QUERYSTRING_EXPIRE"])
    return {"BACKEND": S3, "OPTIONS": options}
