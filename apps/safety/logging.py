"""A logging filter that scrubs personal data from every record (see ``ml.safety.scrub``).

Services log ids, never message text; this catches what slips through anyway (an exception
message quoting input, a third-party library's log line)."""

import logging

from ml.safety.scrub import scrub


class ScrubPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to fix
            return True
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
