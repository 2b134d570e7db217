"""Insight endpoints (DECISIONS §10): the course report, explain and public certificate
verification. Each parses its input, calls one selector and shapes the answer."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from lms.api.envelope import PreRenderedJSON
from lms.api.fields import iso_utc
from lms.api.permissions import IsAuthor, acting_user_id
from lms.api.query import validated_query
from lms.api.throttling import PublicClientThrottle
from lms.api.views import ApiContentNegotiation, TenantScopedAPIView, refuse_empty_query_parameters
from tracking import insight
from tracking.api import insight_serializers as s
from tracking.certificate_pdf import certificate_pdf


class _Echo:
    """A file-like sink for csv.writer that hands each line back instead of buffering it."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(rows: Iterator[dict]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(insight.LEARNER_CSV_FIELDS)
    for row in rows:
        yield writer.writerow([
            iso_utc(value) if hasattr(value, "tzinfo") else ("" if value is None else value)
            for value in (row[name] for name in insight.LEARNER_CSV_FIELDS)
        ])


def learner_csv_response(*, tenant_id, course_id) -> StreamingHttpResponse:
    """The report's per-learner CSV, streamed (the API's `?format=csv` and the dashboard's download).
    Raises NotFoundError for an unknown course before any byte is sent."""
    rows = insight.course_learner_export(tenant_id=tenant_id, course_id=course_id)
    response = StreamingHttpResponse(_csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{course_id}_course_report.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


class CourseReportView(TenantScopedAPIView):
    api_id = "api.course.report"
    permission_classes = [IsAuthor]

    @extend_schema(
        parameters=[s.ReportQuerySerializer],
        responses={200: s.CourseReportSerializer, (200, "text/csv"): OpenApiTypes.STR},
        summary="The course report (admin/instructor); ?format=csv streams one row per learner",
        description="Counts are of enrollments in the course's own batch; every figure is aggregated in SQL in a "
        "constant number of queries, and agrees with the course tracks and the viewer summaries.",
    )
    def get(self, request, pk):
        # Validated once per distinct query string (lms.api.query), as the learner home's parameters.
        if validated_query(s.ReportQuerySerializer, request.query_params)["format"] == "csv":
            return learner_csv_response(tenant_id=self.tenant_id, course_id=pk)
        return Response(PreRenderedJSON(insight.course_report(tenant_id=self.tenant_id, course_id=pk)
                                        .as_encoded_result()))


class CourseExplainView(TenantScopedAPIView):
    api_id = "api.course.tracking.explain"

    @extend_schema(
        parameters=[s.ExplainQuerySerializer],
        responses=s.ExplainSerializer,
        summary="Why is this course not complete (or certified)?",
        description="Learners ask for themselves; staff for anyone in the tenant. Missing lessons in course "
        "order; nextLesson is the first missing lesson whose prerequisites are met; the certificate's "
        "`eligible` is the recount's own rule, and `reasons` names each unmet condition.",
    )
    def get(self, request):
        # Validated once per distinct query string (lms.api.query): a serializer built per request
        # (its fields deep-copied) cost about a tenth of the explanation.
        query = validated_query(s.ExplainQuerySerializer, request.query_params)
        explanation = insight.course_progress_explain(
            tenant_id=self.tenant_id,
            course_id=query["course_id"],
            user_id=acting_user_id(request.user, query.get("user_id")),
            published_only=not request.user.is_staff_role,
        )
        return Response(PreRenderedJSON(explanation.as_encoded_result()))


class CertificateVerifyView(APIView):
    """Public by design: the unguessable token is the credential, as on a printed certificate."""

    api_id = "api.certificate.verify"
    tenant_scoped = False  # no `tenantid` header: the token names its tenant
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PublicClientThrottle]
    content_negotiation_class = ApiContentNegotiation

    @extend_schema(
        parameters=[s.VerifyQuerySerializer],
        responses={
            200: s.VerifiedCertificateSerializer,
            (200, "application/pdf"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="No certificate has this token (ERR_CERTIFICATE_NOT_FOUND)."),
            429: OpenApiResponse(description="Too many requests from this address (Retry-After)."),
        },
        summary="Verify an issued certificate (public: no token, no tenant header); ?format=pdf prints it",
    )
    def get(self, request, token: str):
        refuse_empty_query_parameters(request)
        query = s.VerifyQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        verified = insight.certificate_verify(token=token)
        if query.validated_data["format"] == "pdf":
            url = request.build_absolute_uri(request.path)
            response = HttpResponse(certificate_pdf(verified, verification_url=url), content_type="application/pdf")
            response["Content-Disposition"] = f'inline; filename="certificate-{verified.certificate.id}.pdf"'
            return response
        return Response(verified.as_result())
