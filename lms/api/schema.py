"""Teaches drf-spectacular the two envelopes, so the schema shows what clients receive.

Views document their bare result (`@extend_schema(responses=CourseOutput)`, `many=True` for
arrays); `EnvelopeAutoSchema` wraps every documented body in the envelope of the view's
family, and adds the standard error responses, the `tenantid` header and the security
schemes.
"""

from __future__ import annotations

import copy

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent, get_lib_doc_excludes
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from lms.api.envelope import Family, view_family
from lms.api.fields import RefuseUnknownFields
from lms.api.pagination import MAX_LIMIT, MAX_PAGE

_LMS_PARAMS = {
    "type": "object",
    "properties": {
        "resmsgid": {"type": "string", "format": "uuid", "description": "Fresh per response; quote it in reports."},
        "status": {"type": "string", "enum": ["successful", "failed"]},
        "err": {"type": "string", "nullable": True, "description": "Stable upper-case error code, e.g. ERR_NOT_FOUND."},
        "errmsg": {"type": "string", "nullable": True, "description": "One sentence saying what to fix."},
    },
    "required": ["resmsgid", "status", "err", "errmsg"],
}
_VIEWER_PARAMS = {
    "type": "object",
    "properties": {
        "resmsgid": {"type": "string", "format": "uuid", "description": "Fresh per response; quote it in reports."},
        "msgid": {"type": "string"},
        "status": {"type": "string", "enum": ["success", "failed"]},
        "err": {"type": "string", "nullable": True, "description": "Stable upper-case error code, e.g. ERR_NOT_FOUND."},
        "errmsg": {"type": "string", "nullable": True, "description": "One sentence saying what to fix."},
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
    "400": "Bad input or a missing/malformed `tenantid` header; `params.errmsg` says what to fix and "
    "`result.errors` lists field errors.",
    "401": "Missing, expired or invalid bearer token.",
    "403": "The caller's role or tenant does not allow this.",
    "404": "No such object in the caller's tenant.",
    "405": "The path does not take this method; the `Allow` header lists the methods it takes.",
    "413": "The body is larger than the service accepts (`LMS_MAX_BODY_BYTES`).",
    "415": "The body's Content-Type is not one this operation accepts (see its request body).",
    "429": "Too many requests from this user or tenant; retry after `Retry-After` seconds.",
    "500": "An unexpected error; it is logged under the response's `resmsgid`.",
    "503": "The database is briefly unavailable; retry after `Retry-After` seconds. Nothing was changed "
    "unless an earlier answer acknowledged it.",
}
# A write can always meet a row written meanwhile (a unique constraint, a finished attempt).
_WRITE_ERROR_STATUSES = {
    "409": "The change conflicts with the stored state (a duplicate, a finished attempt, a concurrent "
    "write); `params.errmsg` says which, `result.id` names the existing object where there is one.",
}
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
        "required": True,
        "description": "Seconds to wait before retrying.",
    }
}
_COMPONENT_NAMES = {
    Family.LMS: ("LmsResponseParams", "LmsErrorResponse"),
    Family.VIEWER: ("ViewerResponseParams", "ViewerErrorResponse"),
}


def lib_doc_excludes() -> list:
    """Classes whose docstrings never describe an endpoint (SPECTACULAR_SETTINGS GET_LIB_DOC_EXCLUDES).

    Without this every undocumented view would inherit the tenant-scoping base's docstring.
    """
    from lms.api.views import TenantScopedAPIView, TenantScopedMixin, TenantScopedViewSet

    return [*get_lib_doc_excludes(), TenantScopedViewSet, TenantScopedAPIView, TenantScopedMixin]


def _envelope(family: Family, result_schema: dict) -> dict:
    params_name, _ = _COMPONENT_NAMES[family]
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
            "params": {"$ref": f"#/components/schemas/{params_name}"},
            "responseCode": code,
            "result": copy.deepcopy(result_schema),
        },
        "required": ["id", "ver", "ts", "params", "responseCode", "result"],
    }


def _is_error(status_code) -> bool:
    try:
        return int(status_code) >= 400
    except (TypeError, ValueError):  # "default" or a range like "4XX"
        return str(status_code)[:1] in ("4", "5")


class EnvelopeAutoSchema(AutoSchema):
    def _register_components(self) -> None:
        for family in Family:
            params_name, error_name = _COMPONENT_NAMES[family]
            params = _VIEWER_PARAMS if family is Family.VIEWER else _LMS_PARAMS
            for name, schema in ((params_name, params), (error_name, _envelope(family, _ERROR_RESULT))):
                # Deep copies: spectacular's post-processing rewrites component schemas in place
                # (enums become $refs), which must not leak into the next generation.
                self.registry.register_on_missing(
                    ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, schema=copy.deepcopy(schema), object=name)
                )

    def _error_response(self, family: Family, description: str) -> dict:
        _, error_name = _COMPONENT_NAMES[family]
        schema = {"$ref": f"#/components/schemas/{error_name}"}
        media_types = self.map_renderers("media_type")
        return {"content": {media: {"schema": schema} for media in media_types}, "description": description}

    def _get_response_for_code(self, serializer, status_code, media_types=None, direction="response"):
        response = super()._get_response_for_code(serializer, status_code, media_types, direction)
        self._register_components()
        family = view_family(self.view)
        content = response.get("content")
        if content is None:
            if _is_error(status_code):
                # An error documented by its description alone: the family's one error envelope.
                return self._error_response(family, response.get("description", ""))
            # No body documented (e.g. a delete): the envelope still arrives, with a null result.
            result = {"nullable": True, "description": "No result."}
            media_types = media_types or self.map_renderers("media_type")
            response["content"] = {media: {"schema": _envelope(family, result)} for media in media_types}
            return response
        for media in content.values():
            media["schema"] = self._envelope_for(family, media.get("schema", {}))
        return response

    def _envelope_for(self, family: Family, result_schema: dict) -> dict:
        """The envelope around `result_schema`: a named component when the result is one (or a list of one).

        Naming them keeps the document small (one `CourseOutputEnvelope`, not one copy per
        operation) and gives client generators readable type names.
        """
        suffix = "ViewerEnvelope" if family is Family.VIEWER else "Envelope"
        ref = result_schema.get("$ref") if set(result_schema) == {"$ref"} else None
        items = result_schema.get("items") or {}
        if ref:
            name = f"{ref.rsplit('/', 1)[-1]}{suffix}"
        elif set(result_schema) == {"type", "items"} and result_schema["type"] == "array" and set(items) == {"$ref"}:
            name = f"{items['$ref'].rsplit('/', 1)[-1]}List{suffix}"
        else:
            return _envelope(family, result_schema)
        self.registry.register_on_missing(
            ResolvedComponent(
                name=name, type=ResolvedComponent.SCHEMA, schema=_envelope(family, result_schema), object=name
            )
        )
        return {"$ref": f"#/components/schemas/{name}"}

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if "204" in responses:
            # Deletes answer 200 with `result: null` in the envelope, never an empty 204.
            responses.pop("204")
            responses["200"] = self._get_response_for_code(None, "200", direction=direction)
        self._register_components()
        family = view_family(self.view)
        statuses = dict(_ERROR_STATUSES)
        if self.method.upper() in _WRITE_METHODS:
            statuses.update(_WRITE_ERROR_STATUSES)
        for code, description in statuses.items():
            if code not in responses:
                responses[code] = self._error_response(family, description)
        for code in ("429", "503"):
            responses[code].setdefault("headers", {}).update(copy.deepcopy(_RETRY_AFTER))
        return responses

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        # The server refuses fields it does not know on these bodies (lms.api.fields.RefuseUnknownFields).
        if direction == "request" and isinstance(serializer, RefuseUnknownFields):
            schema["additionalProperties"] = False
        return schema

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        # The server refuses an empty list where the field says allow_empty=False; so does the schema.
        is_list = isinstance(field, (serializers.ListField, serializers.ListSerializer))
        if is_list and not field.allow_empty and schema.get("type") == "array":
            schema["minItems"] = max(1, schema.get("minItems", 0))
        return schema

    def _get_parameters(self):
        parameters = super()._get_parameters()
        for parameter in parameters:
            if parameter.get("in") != "query":
                continue
            schema = parameter.setdefault("schema", {})
            # The bounds lms.api.pagination enforces (400 outside them).
            if parameter["name"] == "page":
                schema.update(minimum=1, maximum=MAX_PAGE)
            elif parameter["name"] == "limit":
                schema.update(minimum=1, maximum=MAX_LIMIT)
            if parameter["name"] in getattr(self.view, "flag_query_parameters", ()):
                parameter["allowEmptyValue"] = True  # a bare `?all` is the flag set
                continue
            # An empty query parameter is refused (TenantScopedMixin.initial), whatever its type.
            if schema.get("type") == "string" and "enum" not in schema:
                schema["minLength"] = max(1, schema.get("minLength", 0))
        return parameters

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if getattr(self.view, "tenant_scoped", True):
            parameters.append(
                OpenApiParameter(
                    name="tenantid",
                    type=OpenApiTypes.UUID,
                    location=OpenApiParameter.HEADER,
                    required=not settings.LMS_DEFAULT_TENANT,
                    description="The caller's tenant (a UUID). Must equal the token's `tenant_id` claim when it "
                    "has one. An unknown tenant is provisioned on first use unless the deployment turned that off.",
                )
            )
        return parameters


class BearerJWTScheme(OpenApiAuthenticationExtension):
    target_class = "lms.api.authentication.JWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "HS256 (LMS_JWT_SECRET) or RS256 (LMS_JWT_PUBLIC_KEY). Claims: `sub` (user UUID), "
            "`roles` (admin, instructor, learner; default learner), `exp`, optional `tenant_id`.",
        }


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "lms.api.authentication.StaffSessionAuthentication"
    name = "staffSession"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "A Django admin login of a staff user (acts as a tenant admin; CSRF token required).",
        }


# What a multipart body sends for a cleared nullable field: forms have no null, so an empty value is
# read as null (courses.api.fields.CatalogueInputSerializer; DRF's own form reading does the same).
_FORM_EMPTY_VALUE = {"type": "string", "maxLength": 0, "description": "Empty: clears the value (null in JSON)."}


def multipart_empty_clears_nullable(result, generator, request, public):
    """drf-spectacular postprocessing hook: each multipart request body gets its own component,
    where every nullable property also takes the empty value that stands for null in a form.

    The JSON body keeps the plain component: there `null` clears and "" is refused where an id, a
    number or a date belongs. Without this the schema said a form's `endDate=` was invalid while the
    server, by design, cleared the date (schemathesis' fuzz reported it as accepted invalid input).
    """
    schemas = result.get("components", {}).get("schemas", {})
    form_components: dict[str, str | None] = {}  # JSON component name -> its form twin (None: no nullable field)
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            media = ((operation.get("requestBody") or {}).get("content") or {}).get("multipart/form-data")
            ref = (media or {}).get("schema", {}).get("$ref", "")
            name = ref.rsplit("/", 1)[-1]
            if name not in schemas:
                continue
            if name not in form_components:
                form_components[name] = _register_form_twin(schemas, name)
            if form_components[name]:
                media["schema"] = {"$ref": f"#/components/schemas/{form_components[name]}"}
    return result


def _register_form_twin(schemas: dict, name: str) -> str | None:
    component = copy.deepcopy(schemas[name])
    properties = component.get("properties", {})
    nullable = [key for key, schema in properties.items() if schema.get("nullable") and not schema.get("readOnly")]
    if not nullable:
        return None
    for key in nullable:
        value_schema = {k: v for k, v in properties[key].items() if k not in ("nullable", "description")}
        twin = {"anyOf": [value_schema, _FORM_EMPTY_VALUE]}
        if "description" in properties[key]:
            twin["description"] = properties[key]["description"]
        properties[key] = twin
    twin_name = f"{name.removesuffix('Request')}FormRequest"
    schemas[twin_name] = component
    return twin_name
