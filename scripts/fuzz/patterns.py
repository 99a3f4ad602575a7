"""The OpenAPI document's patterns as Schemathesis reads them (`npm run fuzz`, scripts/fuzz/main.ts).

Reads JSON on stdin: {"patterns": [every `pattern` of the served document], "controlPattern": the
no-control-character pattern, "refused": [the code points the server's check refuses]}. Checks
that every pattern compiles where Schemathesis uses it (Python's `re` to generate values,
jsonschema-rs's fancy-regex to validate them) and is not dropped, and that the control pattern
accepts exactly the code points the server accepts, all 1,112,064 of them, in both engines.
Prints one JSON line; exits 1 on any problem.
"""

from __future__ import annotations

import json
import re
import sys

import jsonschema_rs
from schemathesis.core.jsonschema import FANCY_REGEX_OPTIONS
from schemathesis.core.jsonschema.patterns import compile_ecma_pattern, enforced_pattern


def main() -> int:
    given = json.load(sys.stdin)
    problems: list[str] = []
    patterns: list[str] = given["patterns"]
    for pattern in sorted(set(patterns)):
        if compile_ecma_pattern(pattern) is None:
            problems.append(f"Python re does not compile {pattern!r}")
        if enforced_pattern(pattern) != pattern:
            problems.append(f"Schemathesis drops or rewrites {pattern!r}")

    control = given["controlPattern"]
    refused = set(given["refused"])
    generating = compile_ecma_pattern(control)  # as Schemathesis draws values (re.ASCII, \Z)
    plain = re.compile(control)
    validating = jsonschema_rs.Draft202012Validator(
        {"type": "string", "pattern": control}, pattern_options=FANCY_REGEX_OPTIONS
    )
    checked = 0
    disagreements: list[str] = []
    for code_point in range(0x110000):
        if 0xD800 <= code_point <= 0xDFFF:
            continue  # no JSON text holds a lone surrogate
        checked += 1
        text = f"US{chr(code_point)}0378331005"
        accepts = code_point not in refused
        answers = (
            generating is not None and generating.search(text) is not None,
            plain.search(text) is not None,
            validating.is_valid(text),
        )
        if any(answer != accepts for answer in answers) and len(disagreements) < 10:
            disagreements.append(f"U+{code_point:04X}: re (Schemathesis), re, jsonschema-rs say {answers}, the server {accepts}")
    problems.extend(disagreements)
    print(json.dumps({"patterns": len(set(patterns)), "codePoints": checked, "refused": len(refused), "problems": problems}))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
