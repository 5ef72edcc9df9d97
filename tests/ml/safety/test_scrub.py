from ml.safety.scrub import scrub


def test_scrub_removes_what_must_never_be_logged() -> None:
    line = (
        "failed for 4111 1111 1111 1111 / 11010519491231002X / ann@example.com / +44 20 7946 0958"
    )
    assert scrub(line) == "failed for [REDACTED] / [REDACTED] / [REDACTED] / [REDACTED]"


def test_scrub_keeps_ids_and_amounts() -> None:
    line = "message=1234 conversation=99 amount=4111111111111112 took 12.5 ms"
    assert scrub(line) == line
