"""Mutated KfDefs never crash: every outcome is a Selection or a located ConfigError.

Deterministic (seeded) line and character mutations of the good corpus: the
kinds of damage hand editing does (deleted, duplicated, re-indented lines,
swapped characters, values replaced by other YAML types).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from kfctl.config import validate_file
from kfctl.errors import ConfigError

GOOD = sorted((Path(__file__).resolve().parent.parent / "data" / "kfdefs" / "good").glob("*.yaml"))
REPLACEMENTS = ["", "~", "[]", "{}", "[a, b]", "{a: 1}", "'x'", "12", "-3.5", "true", "&x y", "*x", "!!str 1",
                "\"\\u00e9\"", "|\n    block", "null", "0x1F", "2020-01-01", ".inf", "? a"]


def _mutate(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    i = rng.randrange(len(lines))
    op = rng.randrange(6)
    if op == 0:
        del lines[i]
    elif op == 1:
        lines.insert(i, lines[i])
    elif op == 2:
        lines[i] = " " * rng.choice([1, 2, 3]) + lines[i]
    elif op == 3:
        lines[i] = lines[i][2:] if lines[i].startswith("  ") else lines[i]
    elif op == 4 and ":" in lines[i]:
        key = lines[i].split(":", 1)[0]
        lines[i] = f"{key}: {rng.choice(REPLACEMENTS)}"
    else:
        chars = list(lines[i])
        if len(chars) > 1:
            j = rng.randrange(len(chars) - 1)
            chars[j], chars[j + 1] = chars[j + 1], chars[j]
        lines[i] = "".join(chars)
    return "\n".join(lines) + "\n"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("path", GOOD, ids=[p.stem for p in GOOD])
def test_mutations_end_in_a_selection_or_a_located_config_error(path, fake_catalog, tmp_path):
    rng = random.Random(path.name)
    original = path.read_text()
    failures = 0
    for n in range(60):
        text = original
        for _ in range(rng.randint(1, 3)):
            text = _mutate(text, rng)
        target = tmp_path / f"m{n}.yaml"
        target.write_text(text)
        try:
            validate_file(target, fake_catalog, environ={})
        except ConfigError as exc:
            failures += 1
            assert exc.problems, text
            for problem in exc.problems:
                assert problem.file == str(target)
                assert problem.line is not None and problem.column is not None, (str(problem), text)
    assert failures > 10, "the mutations should break most files"
