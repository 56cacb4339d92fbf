"""Ids and keys are checked whole: a trailing newline passes ``$`` but never ``fullmatch``
(issue 19, finding 8)."""

from __future__ import annotations

import uuid

import azure.functions as func
import pytest

from api.handler import ApiCall
from api.starts import job_request
from shared.platform.errors import ValidationFailed
from shared.platform.keys import is_guid
from shared.runs.jobs import backup_job


def test_is_guid_a_trailing_newline_is_not_a_guid():
    value = str(uuid.uuid4())
    assert is_guid(value)
    assert not is_guid(value + "\n")


def test_job_request_an_idempotency_key_ending_in_a_newline_is_refused():
    req = func.HttpRequest("POST", "http://localhost/api/tenants/x/backups", body=b"",
                           headers={"Idempotency-Key": "key-1\n"})
    call = ApiCall(req=req, principal=None, storage=None)  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed):
        job_request(call, backup_job(str(uuid.uuid4())))
