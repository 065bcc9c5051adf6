"""Our DQDL parser (gluescripts/etl/dqdl.py, which must run without a JVM: synth-time validation,
rule levels for routing) against AWS's own, software.amazon.glue:dqdl 1.0.0 (the parser the local
engine runs), on every ruleset the test suite holds, every rule the rule tests judge, the bundled
ruleset and AWS's published examples: the same rules, of the same types, on the same columns,
joined the same way; the same rulesets refused.
"""

from __future__ import annotations

import ast

import pytest
from py4j.protocol import Py4JJavaError

from gluescripts.etl.bundled import RULESET_FILE, bundled_text
from gluescripts.etl.dqdl import Composite, DqdlError, parse_ruleset
from tests.glue import dqdl_published_examples, test_rules
from tests.helpers import PROJECT_ROOT

# dqdl 1.0.0 is the newest release served to this project's machines; Glue runs a newer parser,
# whose grammar (awslabs/dqdl at HEAD) ours follows. Where the two parsers part, the reason:
NEWER_THAN_THE_SERVED_PARSER = (
    "dqdl 1.0.0 predates this form, which Glue's DQDL reference documents and ours reads"
)
KNOWN_DIFFERENCES = {
    **{
        f"Rules = [ {rule} ]": NEWER_THAN_THE_SERVED_PARSER
        for rule in (
            'Uniqueness "col_1" "col_2" > 0.5', 'Uniqueness "col_1" "col_2" "col_3" > 0.5',
            'IsUnique "col_1" "col_2"', 'IsUnique "col_1" "col_2" "col_3"',  # "IsUnique": IsUnique "vendorid" "tpep_pickup_datetime"
            'Variance "col_A-B.CD" <= 10.0', 'Variance "col_A-B.CD" between 0.1 and 0.5',
            'Variance "col_A-B.CD" <= -10000.0 where "col-A > 100"',
            'FileSize < 5 B labels=["key"="value"]', 'FileSize < 5 B labels=["key1"="value1", "key2"="value2"]',
        )
    },
    'Rules = [ (IsComplete "a") and (IsUnique "b" "c") and (Mean "d" > 1) and (Sum "e" > 1) ]': NEWER_THAN_THE_SERVED_PARSER,
    'Rules = [ ColumnValues "a" between (now() - 3 days) and (now() + 1 hours) and IsComplete "b" and RowCount between 1 and 9 ]':
        "dqdl 1.0.0 refuses another rule joined by `and` after a date-based between; ours reads the three rules "
        "(tests/glue/test_dqdl.py pins why: the between's own `and` is taken first)",
    "Rules = [ RowCount > 0 ] extra":
        "dqdl 1.0.0 ignores text after the closing ']'; ours refuses it, so such a ruleset fails the synth "
        "instead of running with that text silently dropped",
}


def suite_rulesets() -> list[str]:
    """Every string in the tests that is a DQDL document, each rule the rule tests judge, the
    bundled ruleset and AWS's published examples."""
    found = {bundled_text(RULESET_FILE), dqdl_published_examples.README_RULESET}
    found.update(f"Rules = [ {rule} ]" for rule in (*test_rules.ON_ROWS, *dqdl_published_examples.RULES))
    for path in sorted((PROJECT_ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lstrip().startswith("Rules = ["):
                found.add(node.value)
    return sorted(found)


RULESETS = suite_rulesets()


def flat_composite(operator: str, parts: list[tuple]) -> tuple:
    """AWS's parser nests `a or b or c` as (a or b) or c, ours keeps one list: both read flat."""
    flat = []
    for part in parts:
        flat.extend(part[2] if part[0] == "Composite" and part[1] == operator else (part,))
    return ("Composite", operator, tuple(flat))


def aws_shape(rule) -> tuple:
    """A rule as AWS's parser reads it: its type, the columns it names, and its parts when composite."""
    if rule.getRuleType() == "Composite":
        return flat_composite(rule.getOperator().toString().lower(), [aws_shape(nested) for nested in rule.getNestedRules()])
    values = rule.getParameterValueMap()
    columns = () if values is None else tuple(values[key].getValue() for key in values.keySet() if key.startswith("TargetColumn"))
    return (rule.getRuleType(), columns)


def our_shape(node) -> tuple:
    """The same for ours; a rule it reads by type only keeps no columns (None: not compared)."""
    if isinstance(node, Composite):
        return flat_composite(node.operator, [our_shape(part) for part in node.parts])
    return (node.rule_type, None if node.unread else tuple(node.columns))


def agree(ours, aws) -> bool:
    if isinstance(ours, tuple) and isinstance(aws, tuple):
        return len(ours) == len(aws) and all(agree(a, b) for a, b in zip(ours, aws))
    return ours is None or ours == aws


@pytest.fixture(scope="module")
def aws_parser(spark):
    return spark._jvm.software.amazon.glue.dqdl.parser.DQDLParser().parse


def test_the_suite_holds_enough_rulesets_to_compare():
    assert len(RULESETS) >= 250


@pytest.mark.parametrize("ruleset", RULESETS, ids=[text[:60] for text in RULESETS])
def test_our_parser_reads_each_ruleset_as_aws_parser_does(aws_parser, ruleset):
    try:
        aws = tuple(aws_shape(rule) for rule in aws_parser(ruleset).getRules())
    except Py4JJavaError as refused:
        aws = ("refused", refused.java_exception.getMessage())
    try:
        ours = tuple(our_shape(node) for node in parse_ruleset(ruleset))
    except DqdlError as refused:
        ours = ("refused", str(refused))
    if ruleset in KNOWN_DIFFERENCES:
        assert not agree(ours, aws), f"no longer differs: {KNOWN_DIFFERENCES[ruleset]}"
    elif aws[0] == "refused":
        assert ours[0] == "refused", f"AWS's parser refuses it ({aws[1]}); ours reads {ours}"
    else:
        assert agree(ours, aws), (ours, aws)


def test_the_known_differences_are_rulesets_of_the_suite():
    assert set(KNOWN_DIFFERENCES) <= set(RULESETS)
