"""A parser for the subset of Glue's Data Quality Definition Language (DQDL) this project evaluates.

Supported rule types: RowCount, ColumnCount, ColumnExists, IsComplete, Completeness, IsUnique,
Uniqueness, IsPrimaryKey, ColumnValues and ColumnLength, each with the expressions Glue documents
(=, !=, >, >=, <, <=, between, not between, in, not in, matches, not matches) and an optional
`with threshold <expression>`. Anything else raises `DqdlError` naming the rule: a rule the
evaluator cannot check must never pass silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SUPPORTED_RULE_TYPES = (
    "RowCount", "ColumnCount", "ColumnExists", "IsComplete", "Completeness",
    "IsUnique", "Uniqueness", "IsPrimaryKey", "ColumnValues", "ColumnLength",
)
# rule type -> (minimum columns, maximum columns, takes an expression)
_SHAPES = {
    "RowCount": (0, 0, True),
    "ColumnCount": (0, 0, True),
    "ColumnExists": (1, 1, False),
    "IsComplete": (1, 1, False),
    "Completeness": (1, 1, True),
    "IsUnique": (1, 8, False),
    "Uniqueness": (1, 8, True),
    "IsPrimaryKey": (1, 8, False),
    "ColumnValues": (1, 1, True),
    "ColumnLength": (1, 1, True),
}
_THRESHOLD_RULE_TYPES = ("ColumnValues", "ColumnLength")


@dataclass(frozen=True)
class Keyword:
    """NULL, EMPTY or WHITESPACES_ONLY inside an `in [...]` set: a kind of value, not a literal."""

    name: str

    def __str__(self) -> str:
        return self.name


KEYWORDS = ("NULL", "EMPTY", "WHITESPACES_ONLY")


class DqdlError(ValueError):
    """The ruleset cannot be parsed, or uses something the evaluator does not support."""


@dataclass(frozen=True)
class Expression:
    """A condition on a value: `operator` with its operands (numbers, strings or keywords)."""

    operator: str  # = != > >= < <= between "not between" in "not in" matches "not matches"
    operands: tuple[object, ...]

    def describe(self) -> str:
        shown = [f'"{o}"' if isinstance(o, str) else str(o) for o in self.operands]
        if self.operator in ("between", "not between"):
            return f"{self.operator} {shown[0]} and {shown[1]}"
        if self.operator in ("in", "not in"):
            return f"{self.operator} [{', '.join(shown)}]"
        return f"{self.operator} {shown[0]}"


@dataclass(frozen=True)
class Rule:
    rule_type: str
    columns: tuple[str, ...]
    expression: Expression | None
    threshold: Expression | None
    text: str

    @property
    def is_row_level(self) -> bool:
        """Row-level rules decide, row by row, what is quarantined; the rest judge the whole dataset.

        Completeness and Uniqueness state a tolerated ratio and a `with threshold` states a tolerated
        share of failing rows, so rows they flag stay in the output: only the run can fail on them.
        """
        if self.rule_type in ("IsComplete", "IsUnique", "IsPrimaryKey"):
            return True
        return self.rule_type in _THRESHOLD_RULE_TYPES and self.threshold is None


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<comment>\#[^\n]*)
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
      | (?P<operator>>=|<=|!=|=|>|<)
      | (?P<punct>[\[\],()])
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, object, int]]:
    position, found = 0, []
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise DqdlError(f"unexpected character {text[position:].strip()[:1]!r} at offset {position}")
        position = match.end()
        kind = match.lastgroup
        value: object = match.group(kind)
        if kind == "comment":
            continue
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        elif kind == "number":
            value = float(value) if re.search(r"[.eE]", value) else int(value)
        found.append((kind, value, match.start(kind)))
    return found


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self, offset: int = 0) -> tuple[str, object, int] | None:
        at = self.index + offset
        return self.tokens[at] if at < len(self.tokens) else None

    def take(self) -> tuple[str, object, int]:
        token = self.peek()
        if token is None:
            raise DqdlError("the ruleset ends early; expected Rules = [ rule, rule, ... ]")
        self.index += 1
        return token

    def expect(self, value: object) -> None:
        kind, found, _ = self.take()
        if found != value or kind == "string":
            raise DqdlError(f"expected {value!r} but found {found!r}")

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "word" and token[1] in words

    def ruleset(self) -> tuple[Rule, ...]:
        self.expect("Rules")
        self.expect("=")
        self.expect("[")
        rules = []
        while True:
            rules.append(self.rule())
            kind, value, _ = self.take()
            if value == "]" and kind == "punct":
                break
            if value != ",":
                raise DqdlError(f"expected ',' or ']' after rule '{rules[-1].text}' but found {value!r}")
        if self.peek() is not None:
            raise DqdlError(f"unexpected text after the closing ']': {self.peek()[1]!r}")
        return tuple(rules)

    def rule(self) -> Rule:
        start = self.peek()
        if start is not None and start[1] == "(":
            raise DqdlError(f"composite rules (and/or) are not supported: {self._rest_of_rule(start[2])}")
        kind, rule_type, offset = self.take()
        if kind != "word" or rule_type not in _SHAPES:
            raise DqdlError(
                f"unsupported rule type {rule_type!r} in '{self._rest_of_rule(offset)}'; "
                f"supported: {', '.join(SUPPORTED_RULE_TYPES)}"
            )
        low, high, takes_expression = _SHAPES[rule_type]
        columns = []
        while self.peek() is not None and self.peek()[0] == "string":
            columns.append(self.take()[1])
        text = self._rest_of_rule(offset)
        if not low <= len(columns) <= high:
            raise DqdlError(f"rule '{text}': {rule_type} takes {low if low == high else f'{low} to {high}'} column name(s)")
        expression = self.expression(text) if takes_expression else None
        threshold = None
        if self.at_word("with"):
            self.take()
            if not self.at_word("threshold") or rule_type not in _THRESHOLD_RULE_TYPES:
                raise DqdlError(f"rule '{text}': only ColumnValues and ColumnLength take 'with threshold'")
            self.take()
            threshold = self.expression(text)
        if self.at_word("where"):
            raise DqdlError(f"rule '{text}': 'where' filters are not supported")
        return Rule(rule_type, tuple(columns), expression, threshold, text)

    def expression(self, text: str) -> Expression:
        token = self.peek()
        if token is None or token[0] == "punct":
            raise DqdlError(f"rule '{text}': expected an expression such as '> 0' or 'in [...]'")
        negated = False
        if self.at_word("not"):
            self.take()
            negated = True
        kind, value, _ = self.take()
        if kind == "operator" and not negated:
            return Expression(str(value), (self.literal(text),))
        if kind == "word" and value == "between":
            low = self.literal(text)
            self.expect("and")
            return Expression("not between" if negated else "between", (low, self.literal(text)))
        if kind == "word" and value == "in":
            return Expression("not in" if negated else "in", self.literal_list(text))
        if kind == "word" and value == "matches":
            pattern = self.literal(text)
            if not isinstance(pattern, str):
                raise DqdlError(f"rule '{text}': matches takes a quoted regular expression")
            try:
                re.compile(pattern)
            except re.error as problem:
                raise DqdlError(f"rule '{text}': invalid regular expression: {problem}") from None
            return Expression("not matches" if negated else "matches", (pattern,))
        raise DqdlError(f"rule '{text}': unsupported expression starting at {value!r}")

    def literal(self, text: str) -> object:
        kind, value, _ = self.take()
        if kind in ("number", "string"):
            return value
        if kind == "word" and value in KEYWORDS:
            return Keyword(str(value))
        raise DqdlError(f"rule '{text}': expected a number or a quoted value but found {value!r}")

    def literal_list(self, text: str) -> tuple[object, ...]:
        self.expect("[")
        values = [self.literal(text)]
        while self.peek() is not None and self.peek()[1] == ",":
            self.take()
            values.append(self.literal(text))
        self.expect("]")
        return tuple(values)

    def _rest_of_rule(self, offset: int) -> str:
        """The rule's source text, from its start up to the next top-level comma or closing bracket."""
        depth, end = 0, offset
        in_string = False
        while end < len(self.text):
            char = self.text[end]
            if char == '"' and self.text[end - 1] != "\\":
                in_string = not in_string
            elif not in_string and char == "[":
                depth += 1
            elif not in_string and char == "]":
                if depth == 0:
                    break
                depth -= 1
            elif not in_string and char == "," and depth == 0:
                break
            elif not in_string and char == "\n":
                break
            end += 1
        return self.text[offset:end].strip()


def parse_ruleset(text: str) -> tuple[Rule, ...]:
    """Parse a DQDL document (`Rules = [ ... ]`) into rules, or raise `DqdlError`."""
    return _Parser(text).ruleset()
