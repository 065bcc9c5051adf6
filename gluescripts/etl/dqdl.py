"""Glue's Data Quality Definition Language (DQDL), as far as this project needs to read it.

AWS's DQDL engine evaluates the rules (Glue Data Quality on Glue, deequ locally: `evaluate.py`);
this module reads them where no JVM runs, with two readers of one grammar (AWS's own, in
awslabs/dqdl `DataQualityDefinitionLanguage.g4`). tests/glue/test_dqdl_agreement.py checks it
against AWS's parser.

- `parse_ruleset` reads a whole document, at synth time and before a local run: every rule Glue
  accepts parses. The rule types that can be row rules become `Rule`s (columns, condition,
  threshold, filter) and `Composite`s; any other DQDL rule (aggregates, dynamic rules,
  DetectAnomalies, CustomSql, rules over other datasets, ...) becomes a `Rule` read by its type
  only, whose `unread` says what was left to the engine. Text that is not DQDL raises `DqdlError`
  naming the rule.
- `rule_level` says whether one rule (as the engine prints it in its results) quarantines rows,
  which is what the job routes on, on Glue and locally alike.

Grammar facts relied on: keywords `and`/`or`, `null`, `empty` and `whitespaces_only` are written
in lower or upper case (`AND`, `NULL`, ...), the others (`between`, `in`, `not`, `matches`, `with`,
`where`) in lower case; a column is a quoted string or a bare identifier `[a-zA-Z0-9_.]+`; `and`
binds tighter than `or` and parentheses are optional; `!=` is `!` then `=`; `where "<SQL>"` and
`with threshold <condition>` follow the condition.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Union

ROW, DATASET = "row", "dataset"

READ_RULE_TYPES = (
    "RowCount", "ColumnCount", "ColumnExists", "IsComplete", "Completeness",
    "IsUnique", "Uniqueness", "IsPrimaryKey", "ColumnValues", "ColumnLength",
)
# Every rule type in awslabs/dqdl configuration/rules/rules-config.json.
DQDL_RULE_TYPES = READ_RULE_TYPES + (
    "RowCountMatch", "ColumnDataType", "ColumnNamesMatchPattern", "ColumnCorrelation", "Mean", "Sum",
    "StandardDeviation", "Variance", "Entropy", "DistinctValuesCount", "UniqueValueRatio", "DataFreshness",
    "CustomSql", "ReferentialIntegrity", "DatasetMatch", "SchemaMatch", "AggregateMatch", "DetectAnomalies",
    "AllStatistics", "FileMatch", "FileUniqueness", "FileFreshness", "FileSize",
)
# rule type -> (minimum columns, maximum columns, takes a condition)
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
_ROW_RULE_TYPES = ("IsComplete", "IsUnique", "IsPrimaryKey")
KEYWORDS = ("NULL", "EMPTY", "WHITESPACES_ONLY")
_KEYWORD_SPELLINGS = {spelling: keyword for keyword in KEYWORDS for spelling in (keyword, keyword.lower())}
_AND, _OR = ("and", "AND"), ("or", "OR")
_RESERVED = set(_KEYWORD_SPELLINGS) | {*_AND, *_OR, "of", "OF", "between", "in", "not", "matches", "with", "where", "labels"}


class DqdlError(ValueError):
    """The text is not a DQDL ruleset, or a rule in it is not well formed."""


@dataclass(frozen=True)
class Keyword:
    """NULL, EMPTY or WHITESPACES_ONLY: a kind of value, not a literal."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Expression:
    """A condition on a value: `operator` with its operands (numbers, strings or keywords)."""

    operator: str  # = != > >= < <= between "not between" in "not in" matches "not matches"
    operands: tuple[object, ...]


@dataclass(frozen=True)
class Rule:
    rule_type: str
    columns: tuple[str, ...]
    expression: Expression | None
    threshold: Expression | None
    where: str | None
    text: str
    # What this module left to the engine, reading the rule by its type only (None: it read it whole).
    unread: str | None = None

    @property
    def is_row_level(self) -> bool:
        """Row rules decide, row by row, what is quarantined; the rest judge the batch as a whole.

        Completeness and Uniqueness state a tolerated ratio and `with threshold` a tolerated share of
        failing rows, so the rows they flag stay in the output: only the batch can fail on them.
        """
        if self.unread is not None:
            return False
        if self.rule_type in _ROW_RULE_TYPES:
            return True
        return self.rule_type in _THRESHOLD_RULE_TYPES and self.threshold is None


@dataclass(frozen=True)
class Composite:
    """Rules joined by `and` or `or`; judged on the batch, and row by row when every part is a row rule."""

    operator: str  # "and" or "or"
    parts: tuple["RuleNode", ...]
    text: str

    @property
    def unread(self) -> str | None:
        return next((part.unread for part in self.parts if part.unread), None)

    @property
    def is_row_level(self) -> bool:
        return all(part.is_row_level for part in self.parts)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(column for part in self.parts for column in part.columns)


RuleNode = Union[Rule, Composite]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<comment>\#[^\n]*)
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?(?![A-Za-z0-9_.]))
      | (?P<operator>>=|<=|!=|=|>|<|!)
      | (?P<punct>[\[\](),{}:$])
      | (?P<arithmetic>[-+*/])
      | (?P<word>[A-Za-z0-9_.]+)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    value: object
    start: int
    end: int


def _tokens(text: str) -> list[_Token]:
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
            value = float(value) if "." in value else int(value)
        found.append(_Token(kind, value, match.start(kind), match.end(kind)))
    return found


class _Unread(Exception):
    """The rule is DQDL, in a form this module reads by its type only."""


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self, offset: int = 0) -> _Token | None:
        at = self.index + offset
        return self.tokens[at] if at < len(self.tokens) else None

    def take(self, what: str = "more rules") -> _Token:
        token = self.peek()
        if token is None:
            raise DqdlError(f"the ruleset ends early; expected {what}")
        self.index += 1
        return token

    def at(self, *values: object) -> bool:
        """Whether the next token is one of `values`, unquoted. Each text belongs to one token kind
        (words, punctuation and operators share no characters), so the text alone identifies it."""
        token = self.peek()
        return token is not None and token.kind != "string" and token.value in values

    def expect(self, value: object) -> _Token:
        token = self.take(repr(value))
        if token.value != value or token.kind == "string":
            raise DqdlError(f"expected {value!r} but found {token.value!r}")
        return token

    # The document: optional sections and variables, then Rules = [...], then optional Analyzers = [...].
    def document(self) -> tuple[RuleNode, ...]:
        while not (self.at("Rules") and self.at_offset(1, "=")):
            if self.peek() is None:
                raise DqdlError("no rules: expected Rules = [ rule, rule, ... ]")
            self.skip_section()
        self.take()
        self.expect("=")
        self.expect("[")
        if self.at("]"):
            raise DqdlError("Rules = [ ] holds no rule; DQDL expects at least one")
        rules: list[RuleNode] = []
        while True:
            rules.append(self.or_rule())
            token = self.take("',' or ']'")
            if token.value == "]" and token.kind == "punct":
                break
            if token.value != ",":
                raise DqdlError(f"expected ',' or ']' after rule '{rules[-1].text}' but found {token.value!r}")
        if self.at("Analyzers"):
            self.skip_section()  # analyzers gather statistics and judge nothing
        if self.peek() is not None:
            raise DqdlError(f"unexpected text after the closing ']': {self.peek().value!r}")
        return tuple(rules)

    def at_offset(self, offset: int, value: object) -> bool:
        token = self.peek(offset)
        return token is not None and token.kind != "string" and token.value == value

    def skip_section(self) -> None:
        """Skip one `name = value` section or declaration (Metadata, DataSources, a variable, DefaultLabels, Analyzers)."""
        self.take()
        if self.at("="):
            self.take()
        self.skip_balanced()

    def skip_balanced(self) -> None:
        opening = self.take()
        pairs = {"[": "]", "{": "}", "(": ")"}
        if opening.kind != "punct" or opening.value not in pairs:
            return
        depth = 1
        while depth:
            token = self.take(f"a closing {pairs[opening.value]!r}")
            if token.kind == "punct" and token.value in pairs:
                depth += 1
            elif token.kind == "punct" and token.value in pairs.values():
                depth -= 1

    # Composite rules: `and` binds tighter than `or`; parentheses group.
    def or_rule(self) -> RuleNode:
        start = self.peek()
        parts = [self.and_rule()]
        while self.at(*_OR):
            self.take()
            parts.append(self.and_rule())
        return parts[0] if len(parts) == 1 else Composite("or", tuple(parts), self.source(start))

    def and_rule(self) -> RuleNode:
        start = self.peek()
        parts = [self.unit()]
        while self.at(*_AND):
            self.take()
            parts.append(self.unit())
        return parts[0] if len(parts) == 1 else Composite("and", tuple(parts), self.source(start))

    def unit(self) -> RuleNode:
        if self.at("("):
            self.take()
            inner = self.or_rule()
            self.expect(")")
            if self.at("labels"):
                self.skip_section()
            return inner
        return self.rule()

    def source(self, start: _Token) -> str:
        return self.text[start.start : self.tokens[self.index - 1].end]

    def rule(self) -> Rule:
        first = self.take("a rule")
        start_index = self.index
        end_index = self._rule_end(start_index)
        text = self.text[first.start : self.tokens[end_index - 1].end if end_index > start_index else first.end]
        if first.kind != "word" or first.value not in DQDL_RULE_TYPES:
            raise DqdlError(f"unknown rule type {first.value!r} in '{text}'; DQDL rule types: {', '.join(DQDL_RULE_TYPES)}")
        if first.value not in READ_RULE_TYPES:
            self.index = end_index
            return Rule(str(first.value), (), None, None, None, text, unread=f"{first.value} rules are left to the engine")
        try:
            rule = self._read_rule(str(first.value), text, end_index)
        except _Unread as reason:
            self.index = end_index
            return Rule(str(first.value), (), None, None, None, text, unread=str(reason))
        if self.index != end_index:
            raise DqdlError(f"rule '{text}': unexpected {self.peek().value!r}")
        return rule

    def _rule_end(self, index: int) -> int:
        """Where the rule starting before `index` ends: at a top-level ',', ']', ')' or a composite's and/or."""
        depth = 0
        # `between x and y`: that `and` is the condition's, even before a parenthesis.
        awaiting_between_and = False
        while index < len(self.tokens):
            token = self.tokens[index]
            if depth == 0 and token.kind == "word" and token.value == "between":
                awaiting_between_and = True
            elif depth == 0 and awaiting_between_and and token.kind == "word" and token.value in _AND:
                awaiting_between_and = False
            elif token.kind == "punct" and token.value in ("[", "("):
                depth += 1
            elif token.kind == "punct" and token.value in ("]", ")"):
                if depth == 0:
                    return index
                depth -= 1
            elif depth == 0 and token.kind == "punct" and token.value == ",":
                return index
            elif depth == 0 and token.kind == "word" and token.value in (*_AND, *_OR) and self._joins_rules(index):
                return index
            index += 1
        return index

    def _joins_rules(self, index: int) -> bool:
        """An `and`/`or` joins two rules when a rule or a parenthesis follows (not a value or a column)."""
        following = self.tokens[index + 1] if index + 1 < len(self.tokens) else None
        if following is None:
            return False
        return (following.kind == "punct" and following.value == "(") or (
            following.kind == "word" and following.value in DQDL_RULE_TYPES
        )

    def _read_rule(self, rule_type: str, text: str, end: int) -> Rule:
        low, high, takes_condition = _SHAPES[rule_type]
        columns: list[str] = []
        while self.index < end:
            token = self.peek()
            if token.kind == "word" and token.value in ("of", "OF"):
                self.take()
                continue
            if token.kind == "punct" and token.value == "$":
                raise _Unread("variables are left to the engine")
            is_name = token.kind == "string" or (token.kind == "word" and token.value not in _RESERVED)
            if is_name and (len(columns) < high or token.kind == "string"):
                columns.append(str(self.take().value))
                continue
            break
        if not low <= len(columns) <= high:
            count = low if low == high else f"{low} to {high}"
            raise DqdlError(f"rule '{text}': {rule_type} takes {count} column name(s)")
        expression = self.condition(text, end) if takes_condition else None
        where = threshold = None
        while self.index < end:
            if self.at("where") and where is None:
                self.take()
                token = self.take("a quoted filter")
                if token.kind != "string":
                    raise DqdlError(f"rule '{text}': where takes a quoted SQL condition")
                where = str(token.value)
            elif self.at("with"):
                self.take()
                if not self.at("threshold"):
                    raise _Unread("tags other than 'with threshold' are left to the engine")
                if rule_type not in _THRESHOLD_RULE_TYPES:
                    raise DqdlError(f"rule '{text}': only ColumnValues and ColumnLength take 'with threshold' here")
                self.take()
                threshold = self.condition(text, end)
            elif self.at("labels"):
                self.skip_section()
            else:
                break
        return Rule(rule_type, tuple(columns), expression, threshold, where, text)

    def condition(self, text: str, end: int) -> Expression:
        if self.index >= end:
            raise DqdlError(f"rule '{text}': expected a condition such as '> 0' or 'in [...]'")
        negated = False
        if self.at("not"):
            self.take()
            negated = True
        token = self.take()
        if token.kind == "operator" and not negated:
            operator = str(token.value)
            if operator == "!":
                self.expect("=")
                operator = "!="
            if operator in ("=", "!="):
                return Expression(operator, (self.value(text),))
            return Expression(operator, (self.value(text, numbers_only=True),))
        if token.kind == "word" and token.value == "between":
            low = self.value(text, numbers_only=True)
            if not self.at(*_AND):
                raise DqdlError(f"rule '{text}': expected 'and' in 'between'")
            self.take()
            return Expression("not between" if negated else "between", (low, self.value(text, numbers_only=True)))
        if token.kind == "word" and token.value == "in":
            return Expression("not in" if negated else "in", self.values(text))
        if token.kind == "word" and token.value == "matches":
            pattern = self.take("a quoted regular expression")
            if pattern.kind != "string":
                raise DqdlError(f"rule '{text}': matches takes a quoted regular expression")
            try:
                re.compile(str(pattern.value))
            except re.error as problem:
                raise DqdlError(f"rule '{text}': invalid regular expression: {problem}") from None
            return Expression("not matches" if negated else "matches", (pattern.value,))
        raise DqdlError(f"rule '{text}': unsupported condition starting at {token.value!r}")

    def value(self, text: str, numbers_only: bool = False) -> object:
        token = self.take("a value")
        following = self.peek()
        if token.kind == "word" and following is not None and following.kind == "punct" and following.value == "(":
            raise _Unread(f"dynamic rules ({token.value}(...)) need the run history Glue keeps")
        if token.kind == "punct" and token.value == "(":
            raise _Unread("date and arithmetic expressions are left to the engine")
        if token.kind == "punct" and token.value == "$":
            raise _Unread("variables are left to the engine")
        if following is not None and following.kind == "arithmetic":
            raise _Unread("arithmetic in conditions is left to the engine")
        if following is not None and following.kind == "word" and following.value in ("days", "hours", "minutes", "B", "KB", "MB", "GB", "TB"):
            raise _Unread("durations and sizes are left to the engine")
        if token.kind == "number":
            return token.value
        if token.kind == "word" and token.value in _KEYWORD_SPELLINGS:
            return Keyword(_KEYWORD_SPELLINGS[str(token.value)])
        if token.kind == "string" and not numbers_only:
            return token.value
        if token.kind == "string":
            # A date ("2024-01-01") or a time of day ("9:30 AM", "19:30") compares as such; any other
            # quoted value here is not DQDL (the grammar's DATE, TIME and MIL_TIME tokens).
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2} [AP]M|\d{2}:\d{2}", str(token.value)):
                return token.value
            raise DqdlError(f"rule '{text}': expected a number but found \"{token.value}\"")
        raise DqdlError(f"rule '{text}': expected a number or a quoted value but found {token.value!r}")

    def values(self, text: str) -> tuple[object, ...]:
        if self.at("$"):
            raise _Unread("variables are left to the engine")
        self.expect("[")
        found = [self.value(text)]
        while self.at(","):
            self.take()
            found.append(self.value(text))
        self.expect("]")
        return tuple(found)


def parse_ruleset(text: str) -> tuple[RuleNode, ...]:
    """Parse a DQDL document (`Rules = [ ... ]`) into rules, or raise `DqdlError`."""
    return _Parser(text).document()


@functools.lru_cache(maxsize=1024)
def rule_level(rule_text: str) -> str:
    """ROW when the rule quarantines the rows it fails, else DATASET (it judges the whole batch).

    Takes one rule as written in a ruleset or as Glue prints it in `ruleOutcomes`; a rule this
    module cannot read is DATASET, so an unfamiliar form can fail a batch but never drop rows.
    """
    try:
        (rule,) = parse_ruleset(f"Rules = [ {rule_text} ]")
    except (DqdlError, ValueError):
        return DATASET
    return ROW if rule.is_row_level else DATASET
