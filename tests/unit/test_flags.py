"""`teach --help`: a short main group, each component's settings in a group of its own, every
default shown, and the settings that measured worse gone."""

from __future__ import annotations

import argparse

import pytest

from sociallearn.apps.cli import build_parser
from sociallearn.teaching.settings import Settings

REMOVED = ("calibrate", "refine_filtered", "revision_feedback", "example_revision",
           "instruction_tokens")  # fmt: skip


def teach_parser() -> argparse.ArgumentParser:
    subcommands = build_parser()._subparsers._group_actions[0]  # type: ignore[union-attr]
    return subcommands.choices["teach"]  # type: ignore[attr-defined,no-any-return]


def flags(group: argparse._ArgumentGroup) -> list[argparse.Action]:
    return [a for a in group._group_actions if a.option_strings and a.dest != "help"]


def test_the_main_group_of_teach_is_short_and_components_have_their_own():
    groups = {group.title: flags(group) for group in teach_parser()._action_groups}
    main = {action.dest for action in groups["options"]}
    assert len(main) <= 25
    assert {"task", "method", "aggregator", "teacher_model", "calibration"} <= main
    assert {"dp_epsilon", "refine_candidates", "filter_pii", "remote_teachers"}.isdisjoint(main)
    dp = next(title for title in groups if "dp_voting" in str(title))
    assert {a.dest for a in groups[dp]} == {"dp_epsilon", "dp_delta", "dp_secure_noise"}


def test_every_setting_flag_shows_its_default():
    for group in teach_parser()._action_groups:
        for action in flags(group):
            if action.dest in Settings.model_fields or action.dest.startswith("filter_"):
                assert "default" in (action.help or ""), action.dest


@pytest.mark.parametrize("name", REMOVED)
def test_settings_that_measured_worse_are_gone(name: str):
    assert name not in Settings.model_fields
    with pytest.raises(SystemExit):
        build_parser().parse_args(["teach", "--" + name.replace("_", "-"), "1"])


def test_one_calibration_choice_and_no_amended_instructions():
    assert Settings(calibration="none").calibration == "none"
    with pytest.raises(ValueError, match="instruction_revision"):
        Settings(instruction_revision="amend")  # type: ignore[arg-type]
