"""MkDocs hook: the settings reference (docs/settings.md) generated from the settings models, so
it can't drift from what the code reads."""

from __future__ import annotations

from typing import Any

MARK = "<!-- settings-table -->"


def settings_table() -> str:
    from assistant.config import FileSettings, LlmSettings, Settings
    from bots.configure import allowed_range
    from bots.settings import ServeSettings
    from bots.slack.config import SlackSettings

    rows = ["| variable | assistant.toml | default | allowed | meaning |", "|---|---|---|---|---|"]
    for kind in (Settings, ServeSettings, LlmSettings, SlackSettings):
        prefix = kind.model_config.get("env_prefix", "")
        table = ".".join(kind.toml_table)
        for name, field in kind.model_fields.items():
            if isinstance(field.annotation, type) and issubclass(field.annotation, FileSettings):
                continue
            names = [(prefix + name).upper()]
            names += [c for c in getattr(field.validation_alias, "choices", ()) if isinstance(c, str)]
            default = field.get_default(call_default_factory=True)
            shown = "unset" if default in (None, "", []) else f"`{default}`"
            if name == "model_dir":
                shown = "the user's cache dir"
            key = f"`[{table}] {name}`" if table else f"`{name}`"
            allowed = allowed_range(field.metadata)
            text = (field.description or "").replace("|", "\\|")
            variables = ", ".join(f"`{n}`" for n in dict.fromkeys(names))
            rows.append(f"| {variables} | {key} | {shown} | {allowed} | {text} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return markdown.replace(MARK, settings_table()) if MARK in markdown else markdown
