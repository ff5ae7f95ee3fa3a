"""The serving guard's settings: rate limits per token, on by default only with tokens."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bots.api.guard import rates
from bots.settings import ServeSettings


def test_rate_limits_are_on_with_tokens_and_off_without_by_default():
    assert [str(r) for r in rates(None, tokens=True)] == ["60 per 1 minute"]
    assert rates(None, tokens=False) == []
    assert rates("off", tokens=True) == []
    assert [str(r) for r in rates("5/second;1000/hour", tokens=False)] == ["5 per 1 second", "1000 per 1 hour"]


@pytest.mark.parametrize("value", ["lots", "5 per fortnight", "/minute"])
def test_a_rate_limit_that_cant_be_read_is_a_setting_error(value):
    with pytest.raises(ValidationError, match="must be like 60/minute"):
        ServeSettings(rate_limit=value)
