"""Testing your answers: assertions for your own suites (`assert_cites`, `assert_abstains`, …),
the pytest plugin (`plugin`) and answer cases in YAML (`cases`).

The assertions are loaded on first use: the plugin lives in this package and registers
assertion rewriting for it before they are imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.testing.asserts import assert_abstains, assert_answers, assert_cites, assert_not_cites, describe

__all__ = ["assert_abstains", "assert_answers", "assert_cites", "assert_not_cites", "describe"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from assistant.testing import asserts

        return getattr(asserts, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
