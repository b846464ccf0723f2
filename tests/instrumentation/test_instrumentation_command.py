"""`tycoon instrumentation ...` (the module; the lead wires it into tycoon.cli)."""

from __future__ import annotations

import argparse

from tycoon.commands import instrumentation


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tycoon")
    instrumentation.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_validate_prints_the_table(capsys):
    assert run(["instrumentation", "validate"]) == 0
    out = capsys.readouterr().out
    assert "precision" in out and "recall" in out
    assert "oversight_disabled" in out and "gold cases" in out


def test_validate_fails_below_the_bar(tmp_path, capsys):
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        '{"id": "a", "kind": "positive", "description": "", "expected_tags": ["metric_tampering"],'
        ' "trace": {"call": {"name": "get_balance"}}}\n'
    )
    assert run(["instrumentation", "validate", "--gold", str(gold)]) == 1
    assert "metric_file_edit" in capsys.readouterr().err


def test_validate_reports_a_missing_file(tmp_path, capsys):
    assert run(["instrumentation", "validate", "--gold", str(tmp_path / "nope.jsonl")]) == 2
    assert "error" in capsys.readouterr().err


def test_taxonomy_prints_markdown(capsys):
    assert run(["instrumentation", "taxonomy"]) == 0
    assert capsys.readouterr().out.startswith("# Behaviour taxonomy")
