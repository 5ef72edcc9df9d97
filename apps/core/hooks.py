"""Calls into a higher app or layer without importing it (the app layers are in pyproject.toml).

A lower module declares what it calls as a ``Hook``, decorating a stub whose signature and
docstring say what is asked for; the module that provides it connects its function in its app's
``AppConfig.ready``. So chat asks for a customer's text to be redacted without importing safety,
and a service queues its task without importing the task module. Calling a hook that nothing
connected is a configuration error (the providing app is missing), never a silent no-op.
"""

import functools
from collections.abc import Callable
from typing import Generic, ParamSpec, TypeVar

from django.core.exceptions import ImproperlyConfigured

P = ParamSpec("P")
R = TypeVar("R")


class Hook(Generic[P, R]):
    """One call a lower module makes and a higher one answers (mypy checks both sides against
    the stub's signature)."""

    def __init__(self, stub: Callable[P, R]):
        self.name = f"{stub.__module__}.{stub.__qualname__}"
        self.provider: Callable[P, R] | None = None
        functools.update_wrapper(self, stub)

    def connect(self, provider: Callable[P, R]) -> None:
        self.provider = provider

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        if self.provider is None:
            raise ImproperlyConfigured(
                f"nothing is connected to {self.name}: is its app installed?"
            )
        return self.provider(*args, **kwargs)
