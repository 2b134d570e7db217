from django.apps import AppConfig


class BenchFloorConfig(AppConfig):
    name = "bench.floor"
    label = "bench_floor"
    verbose_name = "Benchmark floor endpoints"
    default_auto_field = "django.db.models.BigAutoField"
