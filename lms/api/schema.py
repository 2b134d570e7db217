"""Teaches drf-spectacular the two envelopes, so the schema shows what clients receive."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from lms.api.envelope import Family, view_family

_LMS_PARAMS = {
    "type": "object",
    "properties": {
        "resmsgid": {"type": "string", "format": "uuid"},
        "status": {"type": "string", "enum": ["successful", "failed"]},
        "err": {"type": "string", "nullable": True},
        "errmsg": {"type": "string", "nullable": True},
    },
    "required": ["resmsgid", "status", "err", "errmsg"],
}
_VIEWER_PARAMS = {
    "type": "object",
    "properties": {
        "resmsgid": {"type": "string", "format": "uuid"},
        "msgid": {"type": "string"},
        "status": {"type": "string", "enum": ["success", "failed"]},
        "err": {"type": "string", "nullable": True},
        "errmsg": {"type": "string", "nullable": True},
    },
    "required": ["resmsgid", "msgid", "status", "err", "errmsg"],
}
_ERROR_RESULT = {
    "type": "object",
    "nullable": True,
    "properties": {
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Field errors, keyed by field name.",
        }
    },
}
_ERROR_STATUSES = {
    "400": "Bad input; `params.errmsg` says what to fix and `result.errors` lists field errors.",
    "401": "Missing, expired or invalid bearer token.",
    "403": "The caller's role or tenant does not allow this.",
    "404": "No such object in the caller's tenant.",
}


def _envelope(family: Family, result_schema: dict, *, failed: bool) -> dict:
    params_ref = {"$ref": f"#/components/schemas/{'ViewerResponseParams' if family is Family.VIEWER else 'LmsResponseParams'}"}
    code = (
        {"type": "string", "enum": ["OK", "CLIENT_ERROR", "UNAUTHORIZED", "RESOURCE_NOT_FOUND", "SERVER_ERROR"]}
        if family is Family.VIEWER
        else {"type": "integer", "description": "The HTTP status, repeated."}
    )
    return {
        "type": "object",
        "properties": {
            "id": {"type": "string", "description": "The endpoint's API id, e.g. api.course.create."},
            "ver": {"type": "string", "enum": ["v1" if family is Family.VIEWER else "1.0"]},
            "ts": {"type": "string", "format": "date-time"},
            "params": params_ref,
            "responseCode": code,
            "result": result_schema,
        },
        "required": ["id", "ver", "ts", "params", "responseCode", "result"],
    }


class EnvelopeAutoSchema(AutoSchema):
    def _register_params_components(self) -> None:
        for name, schema in (("LmsResponseParams", _LMS_PARAMS), ("ViewerResponseParams", _VIEWER_PARAMS)):
            self.registry.register_on_missing(
                ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name)
            )

    def _get_response_for_code(self, serializer, status_code, media_types=None, direction="response"):
        response = super()._get_response_for_code(serializer, status_code, media_types, direction)
        self._register_params_components()
        family = view_family(self.view)
        failed = str(status_code) >= "400"
        content = response.get("content")
        if content is None:
            result = _ERROR_RESULT if failed else {"nullable": True, "description": "No result."}
            response["content"] = {"application/json": {"schema": _envelope(family, result, failed=failed)}}
            return response
        for media in content.values():
            media["schema"] = _envelope(family, media.get("schema", {}), failed=failed)
        return response

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if "204" in responses:
            # Deletes answer 200 with `result: null` in the envelope.
            responses.pop("204")
            responses["200"] = self._get_response_for_code(None, "200", direction=direction)
        for code, description in _ERROR_STATUSES.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(_ERROR_RESULT, code, direction=direction)
                responses[code]["description"] = description
        return responses

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if getattr(self.view, "tenant_scoped", True):
            parameters.append(
                OpenApiParameter(
                    name="tenantid",
                    type=OpenApiTypes.UUID,
                    location=OpenApiParameter.HEADER,
                    required=not settings.LMS_DEFAULT_TENANT,
                    description="The caller's tenant. Must equal the token's `tenant_id` claim when it has one.",
                )
            )
        return parameters
