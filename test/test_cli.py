"""The `fetrack` command dispatches to every registered subcommand."""
import argparse
import importlib
import subprocess
import sys

import pytest

from fetrack_ros.cli.main import SUBCOMMANDS, main


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_subcommand_module_declares_arguments(name):
    module = importlib.import_module(SUBCOMMANDS[name][0])
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    assert callable(module.main)
    assert parser.format_help()


def test_unknown_command_is_an_error_naming_the_valid_ones():
    result = subprocess.run([sys.executable, "-m", "fetrack_ros.cli", "bogus"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "invalid choice: 'bogus'" in result.stderr and all(name in result.stderr for name in SUBCOMMANDS)


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    assert all(name in out for name in SUBCOMMANDS)
