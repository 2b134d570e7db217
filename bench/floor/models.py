import uuid

from django.db import models


class FloorUpsertRow(models.Model):
    """The one table the `raw-upsert` floor writes: one row per (tenant, key), a hit counter."""

    tenant_id = models.UUIDField()
    key = models.UUIDField(default=uuid.uuid4)
    hits = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        app_label = "bench_floor"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "key"], name="floor_upsert_unique_key")]

    def __str__(self) -> str:
        return f"{self.key}: {self.hits}"
