import logging


def test_the_console_handler_scrubs_personal_data() -> None:
    """Every record that reaches the configured console handler is scrubbed first."""
    handler = next(h for h in logging.getLogger().handlers if h.filters)
    record = logging.LogRecord(
        "apps.test",
        logging.WARNING,
        __file__,
        1,
        "could not parse %s",
        ("4111 1111 1111 1111",),
        None,
    )
    assert handler.filter(record)
    assert handler.format(record).endswith("could not parse [REDACTED]")
