"""The settings objects built at the edge, with the two checks a typo deserves: an unknown
`ASSISTANT_*` variable or TOML key is a warning naming the closest known one, and a bad value
is one error line naming where it came from (the flag, the variable, `.env` or the TOML file)
and, for numbers, the range allowed."""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from assistant.config import DOTENV, FileSettings, LlmSettings, Settings, config_file
from bots.settings import ServeSettings
from index.errors import Error

if TYPE_CHECKING:
    from pydantic import ValidationError

S = TypeVar("S", bound=FileSettings)
PREFIX = "ASSISTANT_"


def _slack() -> type[FileSettings]:
    from bots.slack.config import SlackSettings

    return SlackSettings


def _kinds() -> dict[str, type[FileSettings]]:
    """Each settings class by its TOML table ("" for the top level)."""
    return {"": Settings, "serve": ServeSettings, "llm": LlmSettings, "slack": _slack()}


def _env_names(kind: type[FileSettings]) -> Iterator[tuple[str, str]]:
    """(variable, field) for every environment name a settings class reads."""
    prefix = kind.model_config.get("env_prefix", "")
    for name, field in kind.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, FileSettings):
            continue  # a group with its own prefix (llm)
        yield (prefix + name).upper(), name
        alias = field.validation_alias
        for choice in getattr(alias, "choices", ()):
            if isinstance(choice, str):
                yield choice.upper(), name


def known_variables() -> set[str]:
    return {env for kind in _kinds().values() for env, _ in _env_names(kind)}


def _toml_keys() -> dict[str, set[str]]:
    """The keys each TOML table may hold ("" the top level, shared by the engine and serving)."""
    kinds = _kinds()
    top = set(kinds[""].model_fields) | set(kinds["serve"].model_fields)
    return {"": top - {"llm"}, "llm": set(kinds["llm"].model_fields), "slack": set(kinds["slack"].model_fields)}


def _closest(name: str, known: set[str]) -> str:
    match = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {match[0]}?)" if match else ""


def _dotenv() -> dict[str, str]:
    from dotenv import dotenv_values

    path = Path(DOTENV)
    return {k: v for k, v in dotenv_values(path).items() if v is not None} if path.is_file() else {}


def settings_file() -> tuple[Path | None, dict[str, Any]]:
    """The assistant.toml in use and what it holds; an unreadable one is an `Error` naming it."""
    path = config_file()
    if path is None:
        return None, {}
    try:
        return path, tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise Error(f"{path}: not a readable TOML settings file ({exc})") from exc


def warnings(environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per unknown setting name in the environment, `.env` or assistant.toml."""
    environ = os.environ if environ is None else environ
    known = known_variables()
    out = []
    for origin, names in (("", environ), (f" in {DOTENV}", _dotenv())):
        for name in sorted(n for n in names if n.upper().startswith(PREFIX) and n.upper() not in known):
            out.append(f"warning: {name}{origin} is not a setting{_closest(name.upper(), known)}; ignored")
    path, data = settings_file()
    keys = _toml_keys()
    for key, value in data.items():
        if isinstance(value, dict) and key in keys and key:
            for inner in value:
                if inner not in keys[key]:
                    out.append(
                        f"warning: [{key}] {inner} in {path} is not a setting{_closest(inner, keys[key])}; ignored"
                    )
        elif key not in keys[""]:
            out.append(
                f"warning: {key} in {path} is not a setting{_closest(key, keys[''] | set(keys) - {''})}; ignored"
            )
    return out


def build(kind: type[S], flags: Mapping[str, str] | None = None, **values: object) -> S:
    """`kind(**values)` from every source; a bad value becomes one line naming where it was set
    (`flags` maps a field to the flag that set it) and what is allowed."""
    from pydantic import ValidationError

    try:
        return kind(**values)  # type: ignore[arg-type]  # pydantic validates the values
    except ValidationError as exc:
        raise Error(describe(kind, exc, flags or {})) from exc


def describe(kind: type[FileSettings], exc: ValidationError, flags: Mapping[str, str]) -> str:
    first = exc.errors()[0]
    loc = [str(part) for part in first["loc"]]
    if loc and loc[0] == "llm" and kind is Settings:
        kind, loc = LlmSettings, loc[1:]
    field = loc[0] if loc else ""
    place = where(kind, field, flags)
    info = kind.model_fields.get(field)
    allowed = allowed_range(info.metadata) if info is not None else ""
    if allowed and first["type"] in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"bad setting {place}: must be {allowed}"
    return f"bad setting {place}: {first['msg']}"


def where(kind: type[FileSettings], field: str, flags: Mapping[str, str]) -> str:
    """The flag, variable (with its value), `.env` line or TOML key that set `field`."""
    if field in flags:
        return flags[field]
    names = [env for env, name in _env_names(kind) if name == field]
    dotenv = _dotenv()
    for env in names:
        for source, suffix in ((os.environ, ""), (dotenv, f" in {DOTENV}")):
            if env in source:
                return f"{env}={source[env]}{suffix}"
    path, data = settings_file()
    table = data.get(kind.toml_table[0], {}) if kind.toml_table else data
    if isinstance(table, dict) and field in table:
        key = ".".join((*kind.toml_table, field))
        return f"{key} = {table[field]!r} in {path}"
    return names[0] if names else field


def allowed_range(metadata: list[Any]) -> str:
    """`between 0 and 1`, `at least 1`, `more than 0`… from a field's annotated-types bounds."""
    low = next((f"at least {m.ge}" for m in metadata if hasattr(m, "ge")), "")
    low = low or next((f"more than {m.gt}" for m in metadata if hasattr(m, "gt")), "")
    high = next((f"at most {m.le}" for m in metadata if hasattr(m, "le")), "")
    high = high or next((f"less than {m.lt}" for m in metadata if hasattr(m, "lt")), "")
    if low.startswith("at least") and high.startswith("at most"):
        return f"between {low[9:]} and {high[8:]}"
    return " and ".join(part for part in (low, high) if part)
