import importlib
import importlib.util

import pytest
from django.apps import apps
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


def test_every_hook_an_app_declares_is_connected_once_django_is_set_up() -> None:
    declared = {}
    for config in apps.get_app_configs():
        if importlib.util.find_spec(f"{config.name}.hooks") is None:
            continue
        module = importlib.import_module(f"{config.name}.hooks")
        declared |= {
            f"{config.name}.{n}": h for n, h in vars(module).items() if isinstance(h, Hook)
        }
    assert {"apps.chat.turn_start", "apps.knowledge.article_index_queue"} <= declared.keys()
    assert [name for name, hook in declared.items() if hook.provider is None] == []
