"""The README's commands and CI stay in step."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    return dict(re.findall(r"<!-- (main-job|test) command -->\s*```bash\n(.+?)\n```", text, flags=re.S))


def test_readme_has_both_commands():
    commands = _readme_commands()
    assert set(commands) == {"main-job", "test"}
    assert "examples/demo.py" in commands["main-job"]
    assert "pytest" in commands["test"]
    for command in commands.values():
        # torch from the CPU wheel first, or a bare requirement may pull a multi-GB CUDA build
        assert command.index("torch==2.13.0") < command.index("pip install -e")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert _readme_commands()["test"] in ci.splitlines()
