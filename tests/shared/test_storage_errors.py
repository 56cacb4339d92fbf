"""Every azure-core error the storage edge can meet is either an expected outcome of the
primitive that met it or a StorageError with a safe message (in the spirit of httpx's
tests/test_exceptions.py): nothing from the SDK leaks past shared/platform."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import azure.data.tables
import azure.storage.blob
import azure.storage.queue
import pytest
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)

from shared.platform import tables
from shared.platform.codes import ErrorCode
from shared.platform.errors import StorageError
from shared.platform.storage import (
    DEVELOPMENT_STORAGE,
    Storage,
    download_or_none,
    send_message,
    storage_errors,
    upload_once,
)

pytestmark = pytest.mark.anyio
SECRET_MESSAGE = (
    "Operation failed: https://pvprodacct.table.core.windows.net/runs?sv=2024-01-01&se=2030"
    "&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D DefaultEndpointsProtocol=https;AccountName=pvprodacct;"
    "AccountKey=c2VjcmV0LWtleQ==;"
)
_SDKS = (azure.data.tables, azure.storage.blob, azure.storage.queue)  # their errors load too


def _every_azure_error() -> list[type[AzureError]]:
    def walk(cls: type[AzureError]) -> Iterator[type[AzureError]]:
        yield cls
        for sub in cls.__subclasses__():
            yield from walk(sub)
    return sorted(set(walk(AzureError)), key=lambda c: (c.__module__, c.__qualname__))


def _instance(cls: type[AzureError], message: str = SECRET_MESSAGE) -> AzureError:
    """An instance of any azure-core error, however its constructor is shaped."""
    for make in (lambda: cls(message), lambda: cls(message=message)):
        try:
            return make()
        except (TypeError, AttributeError):  # needs a response object, or takes no message
            continue
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)
    exc.message = message
    return exc


class _Failing:
    """A table, container, queue or service client whose every call raises ``exc``."""

    table_name = container_name = queue_name = "runs"

    def __init__(self, exc: BaseException) -> None:
        self._exc = exc

    def query_entities(self, *args: Any, **kwargs: Any) -> _Failing:
        return self

    def by_page(self, **kwargs: Any) -> _Failing:
        return self

    def __aiter__(self) -> _Failing:
        return self

    async def __anext__(self) -> Any:
        raise self._exc

    def get_table_client(self, *args: Any, **kwargs: Any) -> _Failing:
        return self

    get_container_client = get_queue_client = get_table_client

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        async def fail(*args: Any, **kwargs: Any) -> Any:
            raise self._exc
        return fail


def _storage_over(client: _Failing) -> Storage:
    storage = Storage(DEVELOPMENT_STORAGE, "t")
    storage._table_service = storage._blob_service = storage._queue_service = client
    return storage


ROW = {"PartitionKey": "p", "RowKey": "r"}
OK = object()  # the primitive returned normally (its value is not the point)
# primitive -> (call, {expected azure error: outcome}); every other azure error is StorageError
PRIMITIVES: dict[str, tuple[Callable[[_Failing], Awaitable[Any]], dict[type, Any]]] = {
    "get_or_none": (lambda c: tables.get_or_none(c, "p", "r"), {ResourceNotFoundError: None}),
    "insert_once": (lambda c: tables.insert_once(c, ROW), {ResourceExistsError: False}),
    "replace_if_unchanged": (lambda c: tables.replace_if_unchanged(c, ROW, "W/1"),
                             {ResourceModifiedError: False, ResourceNotFoundError: False}),
    "merge_if_present": (lambda c: tables.merge_if_present(c, ROW),
                         {ResourceModifiedError: False, ResourceNotFoundError: False}),
    "upsert": (lambda c: tables.upsert(c, ROW), {}),
    "upsert_many": (lambda c: tables.upsert_many(c, [ROW]), {}),
    "delete": (lambda c: tables.delete(c, "p", "r", etag="W/1"), {ResourceModifiedError: False}),
    "query_all": (lambda c: tables.query_all(c, "p"), {}),
    "query_page": (lambda c: tables.query_page(c, "p", top=10, continuation=None), {}),
    "upload_once": (lambda c: upload_once(c, "a.json", b"{}", "application/json"),
                    {ResourceExistsError: False}),
    "download_or_none": (lambda c: download_or_none(c, "a.json"), {ResourceNotFoundError: None}),
    "send_message": (lambda c: send_message(c, b"{}"), {}),
    "Storage.table": (lambda c: _storage_over(c).table("runs"), {ResourceExistsError: OK}),
    "Storage.container": (lambda c: _storage_over(c).container("snapshots"),
                          {ResourceExistsError: OK}),
    "Storage.queue": (lambda c: _storage_over(c).queue("run-events"), {ResourceExistsError: OK}),
}


def _expected(handled: dict[type, Any], cls: type[AzureError]) -> Any:
    for handled_cls, outcome in handled.items():
        if issubclass(cls, handled_cls):
            return outcome
    return StorageError


@pytest.mark.parametrize("primitive", sorted(PRIMITIVES))
async def test_storage_edge_every_azure_error_is_handled_or_storage_error(primitive):
    call, handled = PRIMITIVES[primitive]
    classes = _every_azure_error()
    assert len(classes) > 20  # the walk found the SDKs' trees, not just the root
    for cls in classes:
        exc = _instance(cls)
        expected = _expected(handled, cls)
        if expected is StorageError:
            with pytest.raises(StorageError) as raised:
                await call(_Failing(exc))
            assert raised.value.__cause__ is exc, cls
            assert raised.value.code == ErrorCode.STORAGE_ERROR
        else:
            outcome = await call(_Failing(exc))
            assert outcome is expected or (expected is OK and outcome is not None), cls


def test_storage_error_message_never_carries_the_sdk_text():
    error = HttpResponseError(SECRET_MESSAGE)
    error.status_code, error.error_code = 403, "AuthenticationFailed"
    odd_code = HttpResponseError(SECRET_MESSAGE)
    odd_code.status_code, odd_code.error_code = 400, "x sig=c2VjcmV0 AccountKey=c2VjcmV0"
    for cls in _every_azure_error():
        for exc in (_instance(cls), error, odd_code):
            with pytest.raises(StorageError) as raised:
                with storage_errors("read a row of runs"):
                    raise exc
            shown = " ".join([str(raised.value), *raised.value.to_dict().values()])
            for leak in ("sig=", "AccountKey", "pvprodacct", "c2VjcmV0", "https://"):
                assert leak not in shown, (cls, shown)
    assert str(raised.value) == "Azure Storage could not read a row of runs: HTTP 400"


def test_storage_error_names_the_status_and_service_code():
    error = HttpResponseError(SECRET_MESSAGE)
    error.status_code, error.error_code = 403, "AuthenticationFailed"
    with pytest.raises(StorageError) as raised:
        with storage_errors("read a row of runs"):
            raise error
    assert raised.value.message == (
        "Azure Storage could not read a row of runs: HTTP 403 AuthenticationFailed")
