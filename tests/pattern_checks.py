"""Checking that a pattern means the same in every engine that reads it:
Python's ``re`` (JSON Schema validators), RE2 (the service) and ECMAScript
(browsers; Node runs each pattern with no flag, ``u`` and, where supported,
``v``, which HTML's ``pattern`` attribute uses).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable

import pytest
import re2

from intakeforms.fields import FieldProblem

NODE = shutil.which("node")


def full(pattern: str, value: str) -> tuple[bool, bool]:
    """Whether ``value`` full-matches ``pattern`` in Python's re and in RE2."""
    return (re.fullmatch(pattern, value) is not None, re2.fullmatch(pattern, value) is not None)


def attempt(call: Callable[..., str], *args: object, **kwargs: object) -> str | FieldProblem:
    """What ``call`` returns, or the FieldProblem it raises."""
    try:
        return call(*args, **kwargs)
    except FieldProblem as problem:
        return problem


_JS = """
const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
let flags = ['', 'u'];
try { new RegExp('', 'v'); flags.push('v'); } catch (e) {}
const out = {};
for (const [key, [pattern, samples]] of Object.entries(cases)) {
  out[key] = {};
  for (const f of flags) {
    const re = new RegExp('^(?:' + pattern + ')$', f);
    out[key][f] = samples.map((s) => re.test(s));
  }
}
process.stdout.write(JSON.stringify(out));
"""

needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")


def assert_same_in_ecmascript(cases: dict[str, tuple[str, list[str]]]) -> None:
    """Each (pattern, samples) matches the same samples in Node as in Python."""
    assert NODE is not None
    result = subprocess.run(
        [NODE, "-e", _JS],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    by_name = json.loads(result.stdout)
    for name, (pattern, values) in cases.items():
        expected = [re.fullmatch(pattern, value) is not None for value in values]
        for flag, matches in by_name[name].items():
            assert matches == expected, (name, flag)
