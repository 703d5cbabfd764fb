"""The event-window settings are described once (events.windows.WINDOW_SETTINGS): the node's
parameters and the command line's options derive from them, and both build the same WindowPolicy."""
import argparse

import pytest

from fetrack_ros.cli import convert as convert_cli
from fetrack_ros.cli import eval as eval_cli
from fetrack_ros.cli.source_args import add_window_arguments, window_policy, window_settings
from fetrack_ros.events import WINDOW_POLICIES, WINDOW_SETTINGS, WindowPolicy, window_policy_from_settings
from fetrack_ros.node import parameters as P

NAMES = ["window_policy", "window_duration", "window_max_duration", "exposure_time", "exposure_offset"]
OPTIONS = {"window_policy": "--window-policy", "window_duration": "--window-duration-ms",
           "window_max_duration": "--window-max-duration-ms", "exposure_time": "--exposure-ms",
           "exposure_offset": "--exposure-offset-ms"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_window_arguments(parser)
    return parser


def _actions(parser: argparse.ArgumentParser) -> dict:
    return {action.option_strings[0]: action for action in parser._actions if action.option_strings}


def test_the_node_declares_every_window_setting_as_today():
    assert [s.name for s in WINDOW_SETTINGS] == NAMES
    specs = [spec for spec in P.SPECS if spec.name in NAMES]
    assert [spec.name for spec in specs] == NAMES
    names = [spec.name for spec in P.SPECS]  # one block, where the table has always had it
    assert names[names.index("image_transport") + 1:names.index("event_clock")] == NAMES
    for setting, spec in zip(WINDOW_SETTINGS, specs):
        assert (spec.default, type(spec.default), spec.description, spec.unit, spec.low, spec.high, spec.choices) \
            == (setting.default, type(setting.default), setting.description, setting.unit, setting.low,
                setting.high, setting.choices)
        assert spec.read_only
    # the public parameter API: names, types, units, defaults and ranges
    got = {spec.name: (spec.default, type(spec.default), spec.unit, spec.low, spec.high, spec.choices) for spec in specs}
    assert got == {
        "window_policy": ("between_frames", str, "", None, None, WINDOW_POLICIES),
        "window_duration": (0.033, float, "s", 1e-6, 10.0, None),
        "window_max_duration": (0.0, float, "s", 0.0, 10.0, None),
        "exposure_time": (0.01, float, "s", 1e-6, 10.0, None),
        "exposure_offset": (0.0, float, "s", -10.0, 10.0, None),
    }


@pytest.mark.parametrize("add_arguments", [eval_cli.add_arguments, convert_cli.add_arguments])
def test_the_command_line_has_one_option_per_setting_with_its_default_choices_and_unit(add_arguments):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    actions = _actions(parser)
    window_options = sorted(o for o in actions if o.startswith(("--window-", "--exposure")))
    assert window_options == sorted(OPTIONS.values())
    for setting in WINDOW_SETTINGS:
        action = actions[OPTIONS[setting.name]]
        assert setting.name in action.help
        if setting.choices is not None:
            assert (action.default, tuple(action.choices)) == (setting.default, setting.choices)
        else:
            assert action.default == pytest.approx(setting.default * 1e3, abs=1e-12)
            assert "ms" in action.help and action.metavar == "MS"
            assert f"{setting.low * 1e3:g} to {setting.high * 1e3:g}" in action.help
    defaults = parser.parse_args(["--out", "x"] if "--out" in actions else [])
    values = window_settings(defaults)
    assert values["window_policy"] == "between_frames"
    assert {k: v for k, v in values.items() if k != "window_policy"} == pytest.approx(
        {s.name: s.default for s in WINDOW_SETTINGS if s.choices is None}, abs=1e-15)
    # the old defaults of the options, in ms
    assert (defaults.window_duration_ms, defaults.window_max_duration_ms, defaults.exposure_ms,
            defaults.exposure_offset_ms) == (33.0, 0.0, 10.0, 0.0)


CASES = [
    ([], {}),
    (["--window-policy", "fixed", "--window-duration-ms", "5"], {"window_policy": "fixed", "window_duration": 0.005}),
    (["--window-max-duration-ms", "12.5", "--window-duration-ms", "40"],
     {"window_max_duration": 0.0125, "window_duration": 0.04}),
    (["--window-policy", "exposure", "--exposure-ms", "5", "--exposure-offset-ms", "-2.5"],
     {"window_policy": "exposure", "exposure_time": 0.005, "exposure_offset": -0.0025}),
]


@pytest.mark.parametrize("argv, node_values", CASES)
def test_the_command_line_builds_the_node_s_window_policy(argv, node_values):
    node_params = {spec.name: spec.default for spec in P.SPECS} | node_values
    from_node = P.window_policy(node_params)
    from_cli = window_policy(_parser().parse_args(argv))
    assert from_cli == from_node


def test_window_values_reach_the_policy_in_ns():
    policy = window_policy(_parser().parse_args(CASES[2][0]))
    assert (policy.kind, policy.duration_ns, policy.max_duration_ns) == ("between_frames", 40_000_000, 12_500_000)
    policy = window_policy(_parser().parse_args(CASES[3][0]))
    assert (policy.kind, policy.exposure_ns, policy.exposure_offset_ns) == ("exposure", 5_000_000, -2_500_000)
    assert window_policy(_parser().parse_args([])) == WindowPolicy()  # defaults: the same numbers everywhere
    assert window_policy_from_settings({}) == WindowPolicy()
    assert WindowPolicy().max_duration_ns is None  # window_max_duration 0 = no cap
    capped = window_policy_from_settings({"window_max_duration": 0.01, "window_duration": 0.005})
    capped.window(0)
    assert capped.window(10**9) == (10**9 - 10_000_000, 10**9)


@pytest.mark.parametrize("setting", [s for s in WINDOW_SETTINGS if s.choices is None], ids=lambda s: s.name)
def test_ranges_are_the_node_s_everywhere(setting):
    inside = [setting.low, setting.high, (setting.low + setting.high) / 2]
    outside = [setting.low - 1e-3, setting.high + 1e-3, float("nan")]
    for value in inside:
        assert P.validate(setting.name, value) is None
        window_policy_from_settings({setting.name: value})
        _parser().parse_args([OPTIONS[setting.name], repr(value * 1e3)])
    for value in outside:
        assert P.validate(setting.name, value) is not None
        with pytest.raises(ValueError, match=setting.name):
            window_policy_from_settings({setting.name: value})
        with pytest.raises(argparse.ArgumentError, match="outside"):
            _parser().parse_args([OPTIONS[setting.name], repr(value * 1e3)])


def test_unknown_policy_is_refused_by_name():
    assert P.validate("window_policy", "between") is not None
    with pytest.raises(ValueError, match="window_policy"):
        window_policy_from_settings({"window_policy": "between"})
    with pytest.raises(argparse.ArgumentError):
        _parser().parse_args(["--window-policy", "between"])
