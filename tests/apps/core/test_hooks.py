import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.core.hooks import Hook


@Hook
def greeting(*, name: str) -> str:
    """A greeting for ``name``."""
    raise NotImplementedError


def test_a_hook_calls_the_connected_function_and_keeps_its_stubs_name_and_docstring() -> None:
    greeting.connect(lambda *, name: f"hello {name}")
    assert greeting(name="Ada") == "hello Ada"
    assert greeting.name == "tests.apps.core.test_hooks.greeting"
    assert greeting.__doc__ == "A greeting for ``name``."


def test_calling_a_hook_nothing_connected_is_a_configuration_error() -> None:
    @Hook
    def unanswered() -> None:
        raise NotImplementedError

    with pytest.raises(ImproperlyConfigured, match=r"nothing is connected to .*unanswered"):
        unanswered()
