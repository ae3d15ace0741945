"""Declarative API routes: one decorator validates input and documents the operation.

A handler declares the pydantic models of its path, query and body; the
wrapper parses and validates them (bad input becomes a 422 naming each field)
and serialises the returned model. The OpenAPI document is generated from the
same declarations, so the spec cannot drift from what the server accepts.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError

from api.auth import authenticate
from api.keys import settings_key
from foundation.errors import (
    FieldError,
    MalformedBody,
    SkyboundError,
    TooLarge,
    UnsupportedFormat,
    ValidationFailed,
)

JSON_CONTENT_TYPE = "application/json"

Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Operation:
    """Everything known about one documented route."""

    method: str
    path: str
    handler: Handler
    summary: str
    description: str | None
    tags: tuple[str, ...]
    path_model: type[BaseModel] | None
    query_model: type[BaseModel] | None
    body_model: type[BaseModel] | None
    response_model: Any
    status: int
    errors: tuple[type[SkyboundError], ...]
    response_content_type: str = JSON_CONTENT_TYPE
    responses: dict[int, str] = field(default_factory=dict)
    auth: bool = False
    roles: tuple[str, ...] = ()
    # Documented security when the handler authenticates itself (e.g. bearer or ticket).
    security: tuple[str, ...] = ()
    # Request headers the handler reads itself: (name, description, required).
    headers: tuple[tuple[str, str, bool], ...] = ()
    # Headers the success response carries: (name, description).
    response_headers: tuple[tuple[str, str], ...] = ()
    # An OpenAPI requestBody for a body the handler reads itself (a multipart upload).
    request_body: dict[str, Any] | None = None
    # Examples the models cannot carry themselves: by status, and "request" for the body.
    examples: dict[int | str, Any] = field(default_factory=dict)

    @property
    def operation_id(self) -> str:
        return self.handler.__name__


def _location(error: Mapping[str, Any], prefix: str) -> str:
    parts = [str(p) for p in error.get("loc", ())]
    return ".".join([prefix, *parts]) if parts else prefix


def field_errors(exc: ValidationError, prefix: str) -> list[FieldError]:
    """Pydantic errors as field errors, located from the request's root (``query.date``)."""
    found = []
    for error in exc.errors(include_url=False, include_input=False):
        message = str(error["msg"])
        if error["type"] == "extra_forbidden":
            message = "Unknown field."
        found.append(FieldError(_location(error, prefix), message, str(error["type"])))
    return found


def nul_errors(value: Any, where: str) -> list[FieldError]:
    """Every string in ``value`` (JSON keys included) holding U+0000, located from ``where``.

    PostgreSQL's text and jsonb cannot store NUL, so such input would fail only when it
    reaches the database; refused here, it is a 422 naming the field on every route.
    """
    if isinstance(value, str):
        return [FieldError(where, _NUL_MESSAGE, "nul_character")] if "\x00" in value else []
    found: list[FieldError] = []
    if isinstance(value, Mapping):
        if any("\x00" in key for key in value):
            found.append(FieldError(where, "A key contains a NUL character (U+0000).",
                                    "nul_character"))  # fmt: skip
        for key, item in value.items():
            if "\x00" not in key:
                found += nul_errors(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += nul_errors(item, f"{where}.{index}")
    return found


_NUL_MESSAGE = "Text must not contain a NUL character (U+0000)."


def _refuse_nul(value: Any, where: str) -> None:
    errors = nul_errors(value, where)
    if errors:
        raise ValidationFailed(errors)


def _unannotated(annotation: Any) -> Any:
    if typing.get_origin(annotation) is typing.Annotated:
        return typing.get_args(annotation)[0]
    return annotation


def _list_fields(model: type[BaseModel]) -> frozenset[str]:
    """Query fields that take repeated values (``?airline=AA&airline=BA``)."""
    names = set()
    for name, info in model.model_fields.items():
        annotation = info.annotation
        origins = {typing.get_origin(annotation)}
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
            # A constrained list inside an optional one is Annotated[list[...], ...].
            origins |= {typing.get_origin(_unannotated(arg)) for arg in typing.get_args(annotation)}
        if origins & {list, tuple, set, frozenset}:
            names.add(info.alias or name)
    return frozenset(names)


def _parse_query(request: web.Request, model: type[BaseModel], lists: frozenset[str]) -> Any:
    _refuse_nul(request.query, "query")
    raw: dict[str, Any] = {}
    for key in request.query:
        if key in raw:
            continue
        values = request.query.getall(key)
        if key in lists:
            raw[key] = [part for value in values for part in value.split(",") if part]
        elif len(values) > 1:
            raise ValidationFailed(
                [FieldError(f"query.{key}", "Give this parameter once.", "repeated")]
            )
        else:
            raw[key] = values[0]
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc, "query")) from None


async def _parse_body(request: web.Request, model: type[BaseModel]) -> Any:
    if request.content_type != JSON_CONTENT_TYPE:
        raise UnsupportedMediaType(request.content_type)
    limit = request.app[settings_key].max_body_bytes
    if (request.content_length or 0) > limit:
        raise PayloadTooLarge(limit)
    raw = await request.read()
    if len(raw) > limit:
        raise PayloadTooLarge(limit)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedBody(
            [FieldError("body", f"Not valid JSON: {exc.msg} at position {exc.pos}.", "json")]
        ) from None
    _refuse_nul(data, "body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc, "body")) from None


class PayloadTooLarge(TooLarge):
    slug = "payload-too-large"
    title = "Request body too large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"Bodies of this request may be at most {limit} bytes.", limit=limit)


class UnsupportedMediaType(UnsupportedFormat):
    slug = "unsupported-media-type"
    title = "Unsupported media type"

    def __init__(self, content_type: str) -> None:
        super().__init__(
            f"Send the body as {JSON_CONTENT_TYPE}, not '{content_type or 'nothing'}'.",
            errors=[{"field": "header.Content-Type", "message": "Must be application/json."}],
        )


def json_response(
    model: Any, *, status: int = 200, adapter: TypeAdapter[Any] | None
) -> web.Response:
    if isinstance(model, BaseModel):
        body = model.__pydantic_serializer__.to_json(model)
    elif adapter is not None:
        body = adapter.dump_json(model)
    else:
        body = orjson.dumps(model)
    return web.Response(body=body, status=status, content_type=JSON_CONTENT_TYPE)


BoundHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiRoutes:
    """A collection of documented operations, added to an app's router in one call.

    ``wrap`` decorates every bound handler: a family of routes that must answer errors
    in another dialect too (the GoTrue-compatible auth) translates them there.
    """

    def __init__(self, *, wrap: Callable[[BoundHandler], BoundHandler] | None = None) -> None:
        self.operations: list[Operation] = []
        self._wrap = wrap

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        response: Any = None,
        path_params: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        status: int = 200,
        errors: Sequence[type[SkyboundError]] = (),
        tags: Sequence[str] = (),
        response_content_type: str = JSON_CONTENT_TYPE,
        responses: dict[int, str] | None = None,
        auth: bool = False,
        roles: Sequence[str] = (),
        security: Sequence[str] = (),
        headers: Sequence[tuple[str, str, bool]] = (),
        response_headers: Sequence[tuple[str, str]] = (),
        request_body: dict[str, Any] | None = None,
        examples: dict[int | str, Any] | None = None,
    ) -> Callable[[Handler], Handler]:
        """Declare a route. ``auth``: needs a bearer token (the handler gets ``user``);
        ``roles``: and one of these roles. ``examples``: a body for a status (or
        ``"request"``) whose model carries no example of its own, such as plain text."""

        def decorate(handler: Handler) -> Handler:
            accepted = set(inspect.signature(handler).parameters)
            needs_user = auth or bool(roles)
            if needs_user != ("user" in accepted):
                raise TypeError(
                    f"{handler.__name__}: take a `user` argument exactly when the route "
                    "declares auth or roles"
                )
            declared = {"path": path_params, "query": query, "body": body}
            for name, model in declared.items():
                if (model is not None) != (name in accepted):
                    raise TypeError(
                        f"{handler.__name__}: declare `{name}=` in the route exactly when "
                        f"the handler takes a `{name}` argument"
                    )
            self.operations.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    handler=handler,
                    summary=summary,
                    description=inspect.getdoc(handler),
                    tags=tuple(tags),
                    path_model=path_params,
                    query_model=query,
                    body_model=body,
                    response_model=response,
                    status=status,
                    errors=tuple(errors),
                    response_content_type=response_content_type,
                    responses=dict(responses or {}),
                    auth=needs_user,
                    roles=tuple(roles),
                    security=tuple(security),
                    headers=tuple(headers),
                    response_headers=tuple(response_headers),
                    request_body=request_body,
                    examples=dict(examples or {}),
                )
            )
            return handler

        return decorate

    def get(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **kwargs)

    def add_to(self, router: web.UrlDispatcher) -> None:
        for operation in self.operations:
            bound = _bind(operation)
            router.add_route(
                operation.method,
                operation.path,
                self._wrap(bound) if self._wrap else bound,
                name=operation.operation_id,
            )


_LOCATIONS = ("body", "query", "path", "header")


def _located(error: FieldError, location: str) -> FieldError:
    """``error`` with its field under ``location``, unless it names where it is already."""
    if error.field.split(".", 1)[0] in _LOCATIONS:
        return error
    return FieldError(f"{location}.{error.field}", error.message, error.code)


def _bind(operation: Operation) -> BoundHandler:
    """The aiohttp handler for an operation: parse, call, serialise."""
    path_model, query_model, body_model = (
        operation.path_model,
        operation.query_model,
        operation.body_model,
    )
    query_lists = _list_fields(query_model) if query_model else frozenset()
    adapter = None
    if operation.response_model is not None and not (
        isinstance(operation.response_model, type)
        and issubclass(operation.response_model, BaseModel)
    ):
        adapter = TypeAdapter(operation.response_model)
    handler = operation.handler
    status = operation.status

    needs_user, roles = operation.auth, operation.roles
    input_location = "body" if body_model is not None else "query"

    async def bound(request: web.Request) -> web.StreamResponse:
        kwargs: dict[str, Any] = {}
        if needs_user:
            kwargs["user"] = await authenticate(request, roles)
        if path_model is not None:
            _refuse_nul(request.match_info, "path")
            try:
                kwargs["path"] = path_model.model_validate(request.match_info)
            except ValidationError as exc:
                raise ValidationFailed(field_errors(exc, "path")) from None
        if query_model is not None:
            kwargs["query"] = _parse_query(request, query_model, query_lists)
        if body_model is not None:
            kwargs["body"] = await _parse_body(request, body_model)
        try:
            result = await handler(request, **kwargs)
        except ValidationFailed as exc:
            # The domain names fields within its input; here is where that input came from.
            exc.errors = [_located(error, input_location) for error in exc.errors]
            raise
        if isinstance(result, web.StreamResponse):
            return result
        if result is None:
            return web.Response(status=204)
        return json_response(result, status=status, adapter=adapter)

    bound.__name__ = handler.__name__
    bound.__doc__ = handler.__doc__
    return bound
