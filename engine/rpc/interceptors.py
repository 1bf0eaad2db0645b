"""The one place where every RPC is authenticated, authorised, timed, logged and has its errors translated.

The server interceptor wraps each method handler so that, in the worker thread that runs the call:
- the `authorization: Bearer <key>` metadata is checked against the API keys, and the key's role against the
  method's `minimum_role` option (health checks and reflection need no key);
- engine errors become status codes (InvalidRequest -> INVALID_ARGUMENT naming the field, NotFound ->
  NOT_FOUND, ...); anything unexpected becomes INTERNAL with the request id, its traceback only in the log;
- the thread's database connection is closed when the call ends (peewee keeps one per thread; gRPC runs
  calls on a pool of threads);
- one log line records request id, method, key name, status code and duration.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import grpc
from google.protobuf.descriptor import FileDescriptor
from peewee import InterfaceError, OperationalError
from pm_exports_client.v1 import auth_pb2
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from engine.db import database_proxy
from engine.errors import (
    Cancelled,
    EmptySelection,
    InvalidRequest,
    InvalidState,
    NotFound,
    PermissionDenied,
    RetryableError,
    RowRejected,
    Unauthenticated,
)
from engine.services.views import ApiKeyView

log = logging.getLogger("engine.rpc")

PUBLIC_SERVICES = frozenset(
    {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection"}
)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_caller: contextvars.ContextVar[ApiKeyView | None] = contextvars.ContextVar("rpc_caller", default=None)

# Engine errors -> status codes, first match wins; their message (which names the field) goes to the client.
STATUS_FOR_ERROR: Sequence[tuple[tuple[type[BaseException], ...], grpc.StatusCode]] = (
    ((InvalidRequest, RowRejected), grpc.StatusCode.INVALID_ARGUMENT),
    ((NotFound,), grpc.StatusCode.NOT_FOUND),
    ((InvalidState, EmptySelection, Cancelled), grpc.StatusCode.FAILED_PRECONDITION),
    ((Unauthenticated,), grpc.StatusCode.UNAUTHENTICATED),
    ((PermissionDenied,), grpc.StatusCode.PERMISSION_DENIED),
    ((RetryableError,), grpc.StatusCode.UNAVAILABLE),
)
# A database or Redis that does not answer: UNAVAILABLE too, but the driver's message stays in the log.
BACKEND_ERRORS = (RedisConnectionError, RedisTimeoutError, OperationalError, InterfaceError)


def current_caller() -> ApiKeyView:
    """The API key of the call being served (set by the interceptor)."""
    key = _caller.get()
    if key is None:  # pragma: no cover - every servicer method runs behind the interceptor
        raise Unauthenticated("no authenticated caller")
    return key


def roles_from_descriptors(*files: FileDescriptor) -> dict[str, str]:
    """'/pm.exports.v1.ExportService/GetJob' -> 'reader', from each method's `minimum_role` option."""
    roles: dict[str, str] = {}
    for file in files:
        for service in file.services_by_name.values():
            for method in service.methods:
                value = method.GetOptions().Extensions[auth_pb2.minimum_role]
                if value:
                    roles[f"/{service.full_name}/{method.name}"] = (
                        auth_pb2.Role.Name(value).removeprefix("ROLE_").lower()
                    )
    return roles


def release_db_connection() -> None:
    """Close this thread's database connection (a long stream should not hold one while it waits)."""
    db = database_proxy.obj
    if db is not None and not db.is_closed():
        try:
            db.close()
        except OperationalError:  # a transaction left open: roll it back with the connection
            db.rollback()
            db.close()


def translate(exc: BaseException, request_id: str) -> tuple[grpc.StatusCode, str]:
    """The status code and message the client gets for an exception."""
    for types, code in STATUS_FOR_ERROR:
        if isinstance(exc, types):
            return code, str(exc)
    if isinstance(exc, BACKEND_ERRORS):
        return (
            grpc.StatusCode.UNAVAILABLE,
            f"the database or Redis does not answer, retry later (request id {request_id})",
        )
    return grpc.StatusCode.INTERNAL, f"internal error (request id {request_id})"


class _Call:
    """What the interceptor knows about one call while it runs."""

    def __init__(self, method: str, required_role: str | None, context: grpc.ServicerContext) -> None:
        self.method = method
        self.required_role = required_role
        self.context = context
        self.started = time.monotonic()
        metadata = {k: v for k, v in context.invocation_metadata()}
        given = str(metadata.get("x-request-id", ""))
        self.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex[:16]
        self.authorization = str(metadata.get("authorization", ""))
        self.key_name: str | None = None
        self.code = grpc.StatusCode.OK
        self._token: contextvars.Token[ApiKeyView | None] | None = None
        context.set_trailing_metadata((("x-request-id", self.request_id),))

    def begin(self) -> None:
        from engine.services.apikeys import authenticate, require_role

        if self.required_role is None:
            return
        scheme, _, token = self.authorization.partition(" ")
        key = authenticate(token.strip() if scheme.lower() == "bearer" else "")
        self.key_name = key.name
        require_role(key, self.required_role)
        self._token = _caller.set(key)

    def fail(self, exc: BaseException) -> None:
        """Abort the call with the status of `exc` (raises, as grpc's abort does)."""
        code, message = translate(exc, self.request_id)
        self.code = code
        if not self.context.is_active():  # the client left or its deadline passed: what broke is a consequence
            self.code = self._ended_code()
            self.end()
            self.context.abort(self.code, "the call has ended")
        if code is grpc.StatusCode.INTERNAL or isinstance(exc, BACKEND_ERRORS):
            self.end(exc_info=exc)
        else:
            self.end()
        self.context.abort(code, message)

    def _ended_code(self) -> grpc.StatusCode:
        """Why an inactive call ended: its deadline passed, or it was cancelled (client gone, shutdown)."""
        remaining = self.context.time_remaining()
        if remaining is not None and remaining <= 0:
            return grpc.StatusCode.DEADLINE_EXCEEDED
        return grpc.StatusCode.CANCELLED

    def end(self, exc_info: BaseException | None = None, *, in_call_thread: bool = True) -> None:
        """Log the call once; in the thread that ran it, also forget the caller and close the connection."""
        if self.started < 0:
            return
        if in_call_thread:
            if self._token is not None:
                _caller.reset(self._token)
            release_db_connection()
        self._token = None
        if self.code is grpc.StatusCode.OK and not self.context.is_active():
            self.code = self._ended_code()
        duration_ms = round((time.monotonic() - self.started) * 1000, 1)
        self.started = -1.0
        level = logging.ERROR if self.code is grpc.StatusCode.INTERNAL else logging.INFO
        log.log(
            level,
            "rpc %s %s %.1f ms",
            self.method,
            self.code.name,
            duration_ms,
            extra={
                "request_id": self.request_id,
                "method": self.method,
                "key": self.key_name,
                "code": self.code.name,
                "duration_ms": duration_ms,
                "peer": self.context.peer(),
            },
            exc_info=exc_info,
        )


def _unary(behaviour: Callable[..., Any], method: str, role: str | None) -> Callable[..., Any]:
    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        call = _Call(method, role, context)
        try:
            call.begin()
            response = behaviour(request, context)
        except Exception as exc:
            call.fail(exc)
            raise  # pragma: no cover - fail() raises
        call.end()
        return response

    return handle


def _streaming(behaviour: Callable[..., Iterator[Any]], method: str, role: str | None) -> Callable[..., Iterator[Any]]:
    def handle(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        call = _Call(method, role, context)
        try:
            call.begin()
            yield from behaviour(request, context)
        except GeneratorExit:
            # gRPC dropped the stream (client gone, deadline passed) and this generator is being finalised,
            # maybe by the garbage collector in another thread: log only, touch no thread-bound state.
            call.code = grpc.StatusCode.CANCELLED
            call.end(in_call_thread=False)
            raise
        except Exception as exc:
            call.fail(exc)
        call.end()

    return handle


class ServerInterceptor(grpc.ServerInterceptor):
    """Wraps the handlers of the engine's services (see the module docstring)."""

    def __init__(self, roles: Mapping[str, str]) -> None:
        self.roles = dict(roles)

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.split("/")[1] in PUBLIC_SERVICES:
            return handler
        role = self.roles.get(method, "admin")  # a method without a declared role: admins only
        h: Any = handler
        if h.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _unary(h.unary_unary, method, role), h.request_deserializer, h.response_serializer
            )
        if h.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                _unary(h.stream_unary, method, role), h.request_deserializer, h.response_serializer
            )
        if h.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                _streaming(h.unary_stream, method, role), h.request_deserializer, h.response_serializer
            )
        return grpc.stream_stream_rpc_method_handler(
            _streaming(h.stream_stream, method, role), h.request_deserializer, h.response_serializer
        )
