"""A circuit breaker: after ``failures`` consecutive failures the circuit opens and calls fail
fast for ``reset_after`` seconds; then one trial call is let through (half-open), and its
success closes the circuit again."""

import time
from collections.abc import Callable


class CircuitBreaker:
    def __init__(
        self,
        failures: int = 3,
        reset_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        if failures < 1 or reset_after <= 0:
            raise ValueError("failures >= 1 and reset_after > 0")
        self.failures = failures
        self.reset_after = reset_after
        self.clock = clock
        self.consecutive = 0
        self.opened_at: float | None = None
        self.trial_running = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        if self.clock() - self.opened_at >= self.reset_after:
            return "half-open"
        return "open"

    def allow(self) -> bool:
        state = self.state
        if state == "closed":
            return True
        if state == "half-open" and not self.trial_running:
            self.trial_running = True
            return True
        return False

    def record_success(self) -> None:
        self.consecutive = 0
        self.opened_at = None
        self.trial_running = False

    def record_failure(self) -> None:
        self.consecutive += 1
        if self.trial_running or self.consecutive >= self.failures:
            self.opened_at = self.clock()
        self.trial_running = False
