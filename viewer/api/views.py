"""The viewer API (viewer envelope): thin views that parse the wrapped request, resolve who
acts for whom, and call one service or selector."""

from __future__ import annotations

import csv
import functools
import json
import uuid
from collections.abc import Iterator

import orjson
from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from lms.api.envelope import Family, PreRenderedJSON, encode_json
from lms.api.errors import ForbiddenError
from lms.api.fields import absolute_url
from lms.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, page_from_request
from lms.api.permissions import acting_user_id, ensure_self_or_staff
from lms.api.views import TenantScopedAPIView, json_parsers
from viewer import selectors, services
from viewer.api import serializers as s
from viewer.api.content_bodies import content_view_body
from viewer.api.download_links import download_claims, download_token

_CONTENT_MESSAGE = OpenApiResponse(
    response=OpenApiTypes.OBJECT, description="{contentId: message}, e.g. {\"do_1\": \"Progress started\"}."
)


class ViewerAPIView(TenantScopedAPIView):
    envelope_family = Family.VIEWER
    # Every viewer body is `{"request": {...}}`, which a form or multipart body cannot carry:
    # JSON only (415 otherwise), and the schema advertises only application/json.
    parser_classes = json_parsers()

    def request_body(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data["request"]

    def acting_user(self, named: uuid.UUID | None) -> uuid.UUID:
        """The user acted on: the caller unless named; learners may only name themselves (403)."""
        return acting_user_id(self.request.user, named)

    def view_context(self, body: dict) -> services.ViewContext:
        return services.view_context(
            tenant_id=self.request.tenant_id,
            user_id=self.acting_user(body.get("userId")),
            content_id=body["contentId"],
            collection_id=body.get("collectionId"),
            batch_id=body.get("batchId"),
        )


class ContentProgressView(ViewerAPIView):
    # One write on one content in its context: parse the wrapped body (`serializer_class`, which
    # also documents the request), resolve who and where, `record` it through one service, answer
    # {contentId: message}. Comments rather than a docstring: the schema shows a view's docstring.

    serializer_class: type[Serializer]
    message: str

    def parse_body(self) -> dict:
        return self.request_body(self.serializer_class)

    def record(self, context: services.ViewContext, body: dict) -> None:
        raise NotImplementedError

    @extend_schema(responses=_CONTENT_MESSAGE)
    def post(self, request):
        body = self.parse_body()
        context = self.view_context(body)
        self.record(context, body)
        return Response({str(context.content_id): self.message})


@extend_schema_view(post=extend_schema(summary="Start viewing a content"))
class ViewStartView(ContentProgressView):
    api_id = "api.view.start"
    serializer_class = s.ViewStartInput  # documents the body; `parse_body` validates it
    message = "Progress started"

    def parse_body(self):
        return content_view_body(self.request.data, with_progress=False)

    def record(self, context, body):
        services.view_start(context=context)


@extend_schema_view(post=extend_schema(summary="Update viewing progress"))
class ViewUpdateView(ContentProgressView):
    api_id = "api.view.update"
    serializer_class = s.ViewUpdateInput  # documents the body; `parse_body` validates it
    message = "SUCCESS"

    def parse_body(self):
        return content_view_body(self.request.data, with_progress=True)

    def record(self, context, body):
        services.view_progress_update(context=context, progress=body["progress"])


@extend_schema_view(post=extend_schema(summary="End (complete) viewing a content"))
class ViewEndView(ContentProgressView):
    api_id = "api.view.end"
    serializer_class = s.ViewEndInput  # documents the body; `parse_body` validates it
    message = "Progress ended"

    def parse_body(self):
        return content_view_body(self.request.data, with_progress=False)

    def record(self, context, body):
        services.view_end(context=context)


@extend_schema_view(post=extend_schema(summary="Submit assessment attempts"))
class AssessmentSubmitView(ContentProgressView):
    api_id = "api.view.assess"
    serializer_class = s.AssessmentSubmitInput
    message = "SUCCESS"

    def record(self, context, body):
        services.content_assessment_submit(context=context, attempts=body["assessments"])


class ViewReadView(ViewerAPIView):
    api_id = "api.view.read"

    @extend_schema(request=s.ViewReadInput, responses=s.ViewReadResultSerializer, summary="Read content progress")
    def post(self, request):
        body = self.request_body(s.ViewReadInput)
        user_id = self.acting_user(body.get("userId"))
        collection_id = body.get("collectionId")
        batch_id = (body.get("batchId") or collection_id) if collection_id else None
        contents = selectors.content_progress_read(
            tenant_id=request.tenant_id, user_id=user_id, content_ids=body["contentId"],
            collection_id=collection_id, batch_id=batch_id,
        )
        return Response({
            "userId": str(user_id),
            "collectionId": str(collection_id) if collection_id else None,
            "batchId": str(batch_id) if batch_id else None,
            "contents": contents,
        })


def _absolute_logos(request, summaries: list[dict]) -> list[dict]:
    for summary in summaries:
        summary["collection"]["logo"] = absolute_url(request, summary["collection"]["logo"])
        for certificate in summary.get("issuedCertificates", ()):
            certificate["verifyUrl"] = absolute_url(request, certificate["verifyUrl"])
    return summaries


def _encoded(result) -> PreRenderedJSON:
    """A result holding summaries, encoded by the one JSON encoder: their contentStatus is encoded
    JSON already (orjson.Fragment), which only orjson writes, so the renderer must not encode the
    result again with DRF's encoder (as it does for an indented answer; PreRenderedJSON is decoded
    for that). orjson never refuses what a summary holds (strings read from the database, small
    integers, floats, string keys), so `encode_json` never falls back to DRF's encoder here."""
    return PreRenderedJSON(encode_json(result))


# Stands for a summary's contentStatus while the rest of it is encoded: a NUL byte never appears in
# encoded JSON (orjson escapes control characters in strings), so it marks where the statuses go.
_STATUSES_MARK = b"\x00"
_STATUSES_PLACE = orjson.Fragment(_STATUSES_MARK)


def _encoded_summaries(summaries: list[dict]) -> PreRenderedJSON:
    """`_encoded({"summary": summaries})`, the same bytes, as pieces the renderer joins into the
    envelope once: each summary encoded without its contentStatus (encoded already: the bytes, from
    `summary_list(statuses_as_bytes=True)`) and that spliced in. Encoding the list whole copied the
    statuses (about 850 KB for a heavy user) into orjson's growing buffer, through its
    reallocations, and into the envelope again."""
    pieces: list[bytes] = [b'{"summary":[']
    for index, summary in enumerate(summaries):
        if index:
            pieces.append(b",")
        statuses = summary.get("contentStatus")
        if statuses is not None:
            # partition: a memchr, where split walks the summary a byte at a time.
            before, _, after = encode_json({**summary, "contentStatus": _STATUSES_PLACE}).partition(_STATUSES_MARK)
            pieces += (before, statuses, after)
        else:
            pieces.append(encode_json(summary))
    pieces.append(b"]}")
    return PreRenderedJSON.of_pieces(pieces)


def _summary_parts(query_params) -> frozenset[str]:
    """`fields`: the heavy parts to include, comma-separated; absent means all of them (the
    design's answer), empty (`?fields=`) none of them."""
    if "fields" not in query_params:
        return selectors.ALL_SUMMARY_PARTS
    # Only a wholly empty value means "none"; inside a list each name is exact, as the schema's enum
    # says: `fields=,` or `fields=contentStatus,` is a typo to name, not the lean call in disguise.
    named = [name for value in query_params.getlist("fields") if value for name in value.split(",")]
    unknown = [name for name in named if name not in selectors.ALL_SUMMARY_PARTS]
    if unknown:
        what = f"Unknown part {unknown[0]!r}" if unknown[0] else "An empty part (a stray comma)"
        raise ValidationError({"fields": [
            f"{what}; name any of {', '.join(selectors.SUMMARY_PARTS)} (comma-separated), "
            "send fields= empty for none of them, or leave fields out for all of them."
        ]})
    return frozenset(named)


class SummaryListView(ViewerAPIView):
    api_id = "api.viewer.summary.list"
    # A bare `?fields=` is the lean call (none of the heavy parts), not an empty value to refuse.
    flag_query_parameters = ("fields",)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                # An array in form style: `?fields=a,b`; `?fields=` is the empty array.
                "fields", {"type": "array", "items": {"type": "string", "enum": list(selectors.SUMMARY_PARTS)}},
                style="form", explode=False,
                description=(
                    "The heavy parts of each summary to include, comma-separated: "
                    f"{', '.join(selectors.SUMMARY_PARTS)}. Left out: all of them (the design's answer). "
                    "Empty (`?fields=`): none of them, the lean call for dashboards, which keeps progress, "
                    "status, dates and collection."
                ),
                examples=[
                    OpenApiExample("Lean", summary="?fields= (dashboards)", value=[]),
                    OpenApiExample(
                        "Certificates", summary="?fields=issuedCertificates", value=["issuedCertificates"]
                    ),
                    OpenApiExample(
                        "Everything", summary="Every part, as when fields is left out",
                        value=list(selectors.SUMMARY_PARTS),
                    ),
                ],
            ),
            OpenApiParameter(
                "page", OpenApiTypes.INT,
                description="Page from 1, newest enrolment first. With page or limit the list is paged "
                            f"(limit default {DEFAULT_LIMIT}); without both, every summary is listed.",
            ),
            OpenApiParameter(
                "limit", OpenApiTypes.INT,
                description=f"Summaries per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}). A page shorter "
                            "than limit is the last.",
            ),
        ],
        responses=s.SummaryListResultSerializer,
        summary="All enrolment summaries of a user",
    )
    def get(self, request, user_id: uuid.UUID):
        ensure_self_or_staff(request.user, user_id)
        parts = _summary_parts(request.query_params)
        paged = "page" in request.query_params or "limit" in request.query_params
        lean = not parts and not paged
        if lean:
            # The dashboards' call: its answer written as bytes by the selector (the same bytes as
            # below), or None where it declines (carry-forward): then the general path.
            encoded = selectors.lean_summary_list_encoded(
                tenant_id=request.tenant_id, user_id=user_id, absolute_logo=functools.partial(absolute_url, request)
            )
            if encoded is not None:
                return Response(PreRenderedJSON(encoded))
        summaries = selectors.summary_list(
            tenant_id=request.tenant_id, user_id=user_id, parts=parts,
            page=page_from_request(request) if paged else None, statuses_as_bytes=True, try_lean=not lean,
        )
        summaries = _absolute_logos(request, summaries)
        if "contentStatus" not in parts:
            # Nothing to splice: one encoder call for the list rather than one per summary.
            return Response(_encoded({"summary": summaries}))
        return Response(_encoded_summaries(summaries))


class SummaryReadView(ViewerAPIView):
    api_id = "api.viewer.summary.read"

    @extend_schema(request=s.SummaryReadInput, responses=s.EnrolmentSummarySerializer, summary="One enrolment summary")
    def post(self, request):
        body = self.request_body(s.SummaryReadInput)
        user_id = self.acting_user(body.get("userId"))
        summary = selectors.summary_read(
            tenant_id=request.tenant_id, user_id=user_id, collection_id=body["collectionId"],
            batch_id=body.get("batchId") or body["collectionId"],
        )
        return Response(_encoded(_absolute_logos(request, [summary])[0]))


_FLAG_ON, _FLAG_OFF = {"", "true", "1", "yes"}, {"false", "0", "no"}


def _deletes_all(query_params) -> bool:
    # The design writes a bare `?all`; `?all=true` (or 1/yes) means the same. Anything else is a 400:
    # a value nobody can read must not decide whether every summary goes (str.strip() would have
    # read a control character such as %1F as the bare flag).
    if "all" not in query_params:
        return False
    value = query_params["all"].lower()
    if value not in _FLAG_ON | _FLAG_OFF:
        raise ValidationError({"all": ["Send `all` bare or as true/false (1/0, yes/no)."]})
    return value in _FLAG_ON


class SummaryDeleteView(ViewerAPIView):
    api_id = "api.viewer.summary.delete"
    flag_query_parameters = ("all",)

    @extend_schema(
        request=s.SummaryDeleteInput,
        parameters=[OpenApiParameter("all", OpenApiTypes.BOOL, description="Delete every enrolment summary.")],
        responses=OpenApiResponse(response=OpenApiTypes.OBJECT, description="An empty object."),
        summary="Delete enrolment summaries (consumption is kept)",
    )
    def delete(self, request, user_id: uuid.UUID):
        ensure_self_or_staff(request.user, user_id)
        if _deletes_all(request.query_params):
            services.summary_delete(
                tenant_id=request.tenant_id, user_id=user_id, deleted_by=request.user.user_id, all_enrolments=True
            )
            return Response({})
        body = self.request_body(s.SummaryDeleteInput)
        services.summary_delete(
            tenant_id=request.tenant_id, user_id=user_id, deleted_by=request.user.user_id,
            collection_id=body["collectionId"], batch_id=body.get("batchId"),
        )
        return Response({})


class _IgnoreFormatQuery(DefaultContentNegotiation):
    """`?format=csv|json` names the download's file format, not a DRF renderer."""

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type


class SummaryDownloadView(ViewerAPIView):
    api_id = "api.viewer.summary.download"
    content_negotiation_class = _IgnoreFormatQuery

    @extend_schema(
        parameters=[s.DownloadQuerySerializer],
        responses=s.DownloadResultSerializer,
        summary="A link to the user's summaries as CSV or JSON",
    )
    def get(self, request, user_id: uuid.UUID):
        ensure_self_or_staff(request.user, user_id)
        query = s.DownloadQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        token = download_token(tenant_id=request.tenant_id, user_id=user_id,
                               file_format=query.validated_data["format"])
        url = request.build_absolute_uri(reverse("viewer-summary-file", kwargs={"token": token}))
        return Response({"url": url})


class _Echo:
    """A file-like sink for csv.writer that hands each row back instead of buffering it."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(rows: Iterator[dict]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(selectors.EXPORT_FIELDS)
    for row in rows:
        yield writer.writerow(["" if row[name] is None else row[name] for name in selectors.EXPORT_FIELDS])


def _json_lines(rows: Iterator[dict], user_id: str) -> Iterator[str]:
    yield '{"userId": ' + json.dumps(user_id) + ', "summary": ['
    separator = "\n"
    for row in rows:
        yield separator + json.dumps(row)
        separator = ",\n"
    yield "\n]}\n"


class SummaryFileView(APIView):
    """The link is the credential, like a presigned object-store link: it needs no Authorization
    or tenantid header (any sent is ignored) and serves the tenant's, user's and format's file it
    was issued for, for an hour after summary/download issued it."""

    envelope_family = Family.VIEWER
    api_id = "api.viewer.summary.file"
    tenant_scoped = False  # no `tenantid` header in the schema: the link names its tenant
    authentication_classes: list = []
    permission_classes = [AllowAny]
    content_negotiation_class = _IgnoreFormatQuery

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/json"): OpenApiTypes.OBJECT,
            400: OpenApiResponse(description="A malformed link (ERR_BAD_LINK)."),
            403: OpenApiResponse(description="An altered or foreign link, or another format (ERR_LINK_FORBIDDEN)."),
            410: OpenApiResponse(description="The link is older than an hour (ERR_LINK_EXPIRED)."),
        },
        summary="Stream the summaries file of a download link (no headers needed; valid for an hour)",
    )
    def get(self, request, token: str):
        claims = download_claims(token)
        asked = request.query_params.get("format")
        if asked is not None and asked != claims.format:
            raise ForbiddenError(
                f"This link serves the {claims.format} file; request a {asked or 'new'} link from summary/download.",
                code="ERR_LINK_FORBIDDEN",
            )
        user_id = str(claims.user_id)
        rows = selectors.summary_export_rows(tenant_id=claims.tenant_id, user_id=claims.user_id)
        if claims.format == "json":
            response = StreamingHttpResponse(_json_lines(rows, user_id), content_type="application/json")
        else:
            response = StreamingHttpResponse(_csv_lines(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{user_id}_viewer_summary.{claims.format}"'
        # Whoever holds the link reads the file: no shared cache may keep a copy for others.
        response["Cache-Control"] = "private, no-store"
        return response


class ProgramEnrolView(ViewerAPIView):
    api_id = "api.program.enrol"

    @extend_schema(request=s.ProgramEnrolInput, responses=s.ProgramEnrolResultSerializer, summary="Enrol in a program")
    def post(self, request):
        body = self.request_body(s.ProgramEnrolInput)
        user_id = self.acting_user(body.get("userId"))
        program = services.program_for_tenant(tenant_id=request.tenant_id, program_ref=body["programId"])
        enrolment = services.program_enrol(
            tenant_id=request.tenant_id, program=program, user_id=user_id, enrolled_by=request.user.user_id,
            by_staff=request.user.is_staff_role,
        )
        return Response({
            "programId": str(program.id),
            "identifier": program.identifier,
            "userId": str(user_id),
            "enrolments": [
                {
                    "collectionId": str(enrollment.course_id),
                    "batchId": str(enrollment.batch_id),
                    "enrollmentId": str(enrollment.id),
                    "created": created,
                    "active": enrollment.active,
                }
                for enrollment, created in enrolment.enrolments
            ],
        })
