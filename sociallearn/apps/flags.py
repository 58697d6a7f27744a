"""Command-line flags made from the settings models: one flag per field, its help the field's
description, so flags and settings cannot drift apart.

Unset flags are left out of the values, so the model's defaults (or a spec file's values) stay.
Booleans get `--x/--no-x`, lists take several values; the privacy filter's settings appear as
`--filter-<name>`.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Collection
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

from sociallearn.apps.presets import NO_PRESET, load_presets
from sociallearn.privacy.filter import FilterSettings
from sociallearn.teaching.registries import REGISTRIES
from sociallearn.teaching.settings import HELP_GROUPS

FILTER_PREFIX = "filter_"
FILTER_GROUP = "privacy filter (the data owner's)"
_GROUP_OF = {name: title for title, names in HELP_GROUPS.items() for name in names}


def _scalar(annotation: Any) -> Any:
    """`X` of `X | None`; the annotation itself otherwise."""
    if get_origin(annotation) in (typing.Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            return options[0]
    return annotation


def _add(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    name: str,
    annotation: Any,
    help_text: str,
    default: Any,
) -> None:
    flag = "--" + name.replace("_", "-")
    kind = _scalar(annotation)
    options: dict[str, Any] = {"dest": name, "default": argparse.SUPPRESS, "help": help_text}
    if kind is bool:
        options["action"] = argparse.BooleanOptionalAction
        options["help"] = f"{help_text} (default: {'on' if default else 'off'})"
    elif get_origin(kind) is Literal:
        options["choices"] = list(get_args(kind))
    elif kind in (int, float, str):
        options["type"] = kind
        options["metavar"] = name.upper()
    elif get_origin(kind) is list:
        options["nargs"] = "+"
        options["metavar"] = "ITEM"
        options["help"] = f"{help_text} (space- or comma-separated)"
    else:
        return  # not a command-line value (e.g. a tuple of canaries)
    if kind is not bool and "default" not in help_text:
        shown = default if default not in (None, "", []) else "none"
        if isinstance(default, list) and default:
            shown = ",".join(getattr(item, "label", str(item)) for item in default)
        options["help"] = f"{options['help']} (default: {shown})"
    parser.add_argument(flag, **options)


def add_flags(
    parser: argparse.ArgumentParser,
    model: type[BaseModel],
    *,
    exclude: Collection[str] = (),
    only: Collection[str] | None = None,
) -> None:
    """A flag for every field of `model` (and of its privacy filter settings); a component's
    settings (`settings.HELP_GROUPS`, the filter's) in a help group of their own. A setting that
    names a registered component lists the registered names."""
    groups: dict[str, argparse._ArgumentGroup] = {}

    def group(title: str) -> argparse._ArgumentGroup:
        if title not in groups:
            groups[title] = parser.add_argument_group(title)
        return groups[title]

    for name, info in model.model_fields.items():
        if name in exclude or (only is not None and name not in only):
            continue
        if info.annotation is FilterSettings:
            hints = typing.get_type_hints(FilterSettings)
            for item in dataclasses.fields(FilterSettings):
                _add(
                    group(FILTER_GROUP),
                    FILTER_PREFIX + item.name,
                    hints[item.name],
                    f"privacy filter: {item.metadata.get('help', item.name.replace('_', ' '))}",
                    item.default,
                )
            continue
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        where = group(_GROUP_OF[name]) if name in _GROUP_OF else parser
        help_text = info.description or ""
        if name in REGISTRIES:  # a name: the registered ones
            help_text = f"{help_text}: {', '.join(REGISTRIES[name].names)}"
        _add(where, name, info.annotation, help_text, default)


def add_preset_flag(parser: argparse.ArgumentParser, default: str = NO_PRESET) -> None:
    """`--preset NAME`: a measured configuration, which the flags given beside it override;
    `default` says what runs without it."""
    parser.add_argument(
        "--preset",
        default=None,
        metavar="NAME",
        help=f"a measured configuration: {', '.join(load_presets())}, or {NO_PRESET} "
        "(`sociallearn presets` lists them with their numbers); flags given beside it "
        f"override it (default: {default})",
    )


def values_from(args: argparse.Namespace, model: type[BaseModel]) -> dict[str, Any]:
    """The settings the user set on the command line, for `model.model_validate`."""
    given = vars(args)
    values = {name: given[name] for name in model.model_fields if name in given}
    for name, value in values.items():
        if isinstance(value, list):  # `--methods a,b c` → [a, b, c]
            values[name] = [item for part in value for item in part.split(",") if item]
    filter_values = {
        name.removeprefix(FILTER_PREFIX): value
        for name, value in given.items()
        if name.startswith(FILTER_PREFIX)
    }
    if filter_values and "privacy" in model.model_fields:
        values["privacy"] = dataclasses.replace(FilterSettings(), **filter_values)
    return values
