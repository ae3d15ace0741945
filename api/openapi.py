"""OpenAPI 3.1 document built from the declared operations and their pydantic models."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema

from api.examples import attach_examples
from api.problems import status_of
from api.rate_limiting import endpoint_class
from api.routes import Operation, PayloadTooLarge, UnsupportedMediaType
from foundation.errors import MalformedBody, SkyboundError, ValidationFailed

REF_TEMPLATE = "#/components/schemas/{model}"

_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "One entry per bad field, for validation errors.",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string", "examples": ["query.date"]},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}

_PATH_PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


class _SchemaCollector:
    """Collects JSON schemas of models into shared components."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {"Problem": _PROBLEM_SCHEMA}

    def schema(
        self, model: Any, mode: Literal["validation", "serialization"] = "serialization"
    ) -> dict[str, Any]:
        adapter = TypeAdapter(model)
        generated = adapter.json_schema(
            ref_template=REF_TEMPLATE, mode=mode, schema_generator=GenerateJsonSchema
        )
        for name, definition in generated.pop("$defs", {}).items():
            self.components.setdefault(name, definition)
        if isinstance(model, type) and issubclass(model, BaseModel):
            name = model.__name__
            self.components.setdefault(name, generated)
            return {"$ref": REF_TEMPLATE.format(model=name)}
        return generated

    def parameters(self, model: type[BaseModel], location: str) -> list[dict[str, Any]]:
        generated = model.model_json_schema(ref_template=REF_TEMPLATE, mode="validation")
        for name, definition in generated.pop("$defs", {}).items():
            self.components.setdefault(name, definition)
        required = set(generated.get("required", ()))
        params = []
        for name, prop in generated.get("properties", {}).items():
            prop = dict(prop)
            description = prop.pop("description", None)
            param: dict[str, Any] = {
                "name": name,
                "in": location,
                "required": location == "path" or name in required,
                "schema": prop,
            }
            if description:
                param["description"] = description
            if prop.get("type") == "array":
                param["style"] = "form"
                param["explode"] = True
            params.append(param)
        return params


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def _operation(op: Operation, schemas: _SchemaCollector) -> dict[str, Any]:
    spec: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary}
    if op.tags:
        spec["tags"] = list(op.tags)
    parameters = []
    if op.path_model is not None:
        parameters += schemas.parameters(op.path_model, "path")
    if op.query_model is not None:
        parameters += schemas.parameters(op.query_model, "query")
    parameters += [
        {"name": name, "in": "header", "required": required, "description": description,
         "schema": {"type": "string"}}
        for name, description, required in op.headers
    ]  # fmt: skip
    if parameters:
        spec["parameters"] = parameters
    if op.request_body is not None:
        spec["requestBody"] = op.request_body
    elif op.body_model is not None:
        spec["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": schemas.schema(op.body_model, "validation")}
            },
        }

    responses: dict[str, Any] = {}
    if op.status == 204 or op.response_model is None:
        responses[str(op.status)] = {"description": "Done."}
    else:
        responses[str(op.status)] = {
            "description": op.summary,
            "content": {op.response_content_type: {"schema": schemas.schema(op.response_model)}},
        }
    if op.response_headers:
        responses[str(op.status)]["headers"] = {
            name: {"description": description, "schema": {"type": "string"}}
            for name, description in op.response_headers
        }
    for status, description in op.responses.items():
        responses[str(status)] = (
            _problem_response(description) if status >= 400 else {"description": description}
        )
    errors: list[type[SkyboundError]] = list(op.errors)
    if op.body_model is not None:
        errors += [MalformedBody, PayloadTooLarge, UnsupportedMediaType]
    if op.body_model or op.query_model or op.path_model:
        errors.append(ValidationFailed)
    for error in errors:
        key = str(status_of(error))
        if key in responses:
            responses[key]["description"] += f"; {error.title}"
        else:
            responses[key] = _problem_response(error.title)
    if op.security:
        spec["security"] = [{scheme: []} for scheme in op.security]
        responses.setdefault("401", _problem_response("Missing, expired or invalid credentials"))
    if op.auth:
        spec["security"] = [{"bearerAuth": []}]
        spec["x-roles"] = list(op.roles)
        responses.setdefault("401", _problem_response("Missing, expired or invalid bearer token"))
        if op.roles:
            responses.setdefault(
                "403", _problem_response(f"Needs one of the roles: {', '.join(op.roles)}")
            )
    spec["description"] = f"{op.description or op.summary}\n\n**Auth:** {_auth_line(op)}."
    if endpoint_class(op.method, op.path) is not None:
        responses.setdefault("429", _problem_response(
            "Too many requests: a rate limit of the client address or the user is spent; "
            "retry after `Retry-After` seconds (see the `RateLimit` field)"))  # fmt: skip
    if op.path not in _NO_DATABASE:
        responses.setdefault(
            "503",
            _problem_response(
                "The database is busy or cannot be reached; retry after `Retry-After` seconds"
            ),
        )
    spec["responses"] = responses
    attach_examples(spec, schemas.components, op.examples, errors, _bad_field(op))
    return spec


def _auth_line(op: Operation) -> str:
    """Who may call the operation, as its description states it."""
    if op.roles:
        return f"a bearer token with one of the roles {', '.join(op.roles)}"
    if op.auth:
        return "a bearer token (any signed-in user)"
    if op.security:
        return "one of " + ", ".join(f"`{scheme}`" for scheme in op.security)
    return "none"


def _bad_field(op: Operation) -> str:
    """A field the operation's validation could name, for its 422 example."""
    for location, model in (("body", op.body_model), ("query", op.query_model),
                            ("path", op.path_model)):  # fmt: skip
        if model is not None and model.model_fields:
            name, info = next(iter(model.model_fields.items()))
            return f"{location}.{info.alias or name}"
    return "body"


# Operations that never touch the database, so never answer 503 for it.
_NO_DATABASE = frozenset({"/healthz", "/openapi.json"})


def build_openapi(
    operations: Iterable[Operation], *, title: str, version: str, description: str
) -> dict[str, Any]:
    schemas = _SchemaCollector()
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        path = _PATH_PARAM.sub(r"{\1}", op.path)
        paths.setdefault(path, {})[op.method.lower()] = _operation(op, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A Supabase Auth (or Skybound auth) access token.",
                },
                "streamTicket": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "ticket",
                    "description": "Single-use, 60-second ticket from POST /v1/streams/tickets.",
                },
            },
        },
    }
