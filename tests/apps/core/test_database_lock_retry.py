"""SQLite under the embedded default: several threads of one process write (issue 19: 100
concurrent widget sessions met "database is locked")."""

from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError, transaction

from apps.core.db import SQLITE_LOCK_RETRIES, retry_on_database_lock


def test_sqlite_takes_the_write_lock_when_a_transaction_begins_and_waits_for_it() -> None:
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip("the embedded default's database")
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert database["OPTIONS"]["timeout"] == 30
    assert "journal_mode=WAL" in database["OPTIONS"]["init_command"]


def _flaky(failures: int, message: str = "database is locked") -> Any:
    calls = []

    @retry_on_database_lock
    def write() -> int:
        calls.append(1)
        if len(calls) <= failures:
            raise OperationalError(message)
        return len(calls)

    return write


def test_a_locked_database_is_tried_again() -> None:
    assert _flaky(2)() == 3


def test_it_gives_up_after_the_last_retry() -> None:
    with pytest.raises(OperationalError, match="database is locked"):
        _flaky(SQLITE_LOCK_RETRIES)()


def test_other_database_errors_are_not_retried() -> None:
    write = _flaky(1, "no such table: chat_message")
    with pytest.raises(OperationalError, match="no such table"):
        write()


@pytest.mark.django_db
def test_inside_a_transaction_the_caller_retries_not_the_function() -> None:
    # The lock rolled back the caller's whole transaction: running only the inner part again
    # would commit half of it.
    with transaction.atomic(), pytest.raises(OperationalError):
        _flaky(1)()
