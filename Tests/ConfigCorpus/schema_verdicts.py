#!/usr/bin/python3
"""The JSON Schema's verdict on config files, by Debian's python3-jsonschema (an implementation independent of CertAgent).

Usage: schema_verdicts.py SCHEMA < list of config file paths, one a line.
Checks SCHEMA against the draft 2020-12 meta-schema first (exit 2 when it is not a valid schema), then prints one JSON
object a line per config: {"file", "json" (parsed as JSON), "valid", "errors" (at most 5: "path: message")}.
A file that is not UTF-8 JSON is invalid; NaN and Infinity are not JSON (RFC 8259) and are refused too.
"""
import json
import sys

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError


def not_json(name):
    raise ValueError(f"{name} is not JSON (RFC 8259)")


def main():
    with open(sys.argv[1], encoding="utf-8") as file:
        schema = json.load(file)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        print(f"not a valid draft 2020-12 schema: {error.message} at {'/'.join(map(str, error.absolute_path))}", file=sys.stderr)
        sys.exit(2)
    validator = Draft202012Validator(schema)
    for path in sys.stdin.read().splitlines():
        if not path:
            continue
        with open(path, "rb") as file:
            data = file.read()
        try:
            instance = json.loads(data.decode("utf-8"), parse_constant=not_json)
        except (ValueError, RecursionError) as error:
            print(json.dumps({"file": path, "json": False, "valid": False, "errors": [str(error)[:300]]}))
            continue
        errors = sorted(validator.iter_errors(instance), key=lambda error: list(map(str, error.absolute_path)))
        print(json.dumps({"file": path, "json": True, "valid": not errors,
                          "errors": [("/".join(map(str, error.absolute_path)) + ": " + error.message)[:300] for error in errors[:5]]}))


main()
