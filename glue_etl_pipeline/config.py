"""The configuration model: `environment.conf` parsed and validated into frozen dataclasses.

This is the only module that reads the configuration file. Everything downstream receives an
`EnvironmentConfig` and never sees raw strings. Every problem is reported as a `ConfigError` whose
message is one line naming the file, the section, the key and the offending value.
"""

from __future__ import annotations

import configparser
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

DEFAULT_SCHEDULE = "cron(20 * * * ? *)"
DEFAULT_WORKER_TYPE = "G.1X"
DEFAULT_NUMBER_OF_WORKERS = 2
DEFAULT_JOB_TIMEOUT_MINUTES = 25
DEFAULT_MAX_QUARANTINE_FRACTION = 0.1
# What one run reads at most: 10 GiB. Measured locally the job takes about 19 s per 346 MB on two
# cores (make bench), 18 MB/s, so 10 GiB in about 10 minutes; two G.1X workers give it one 4-vCPU
# executor, twice those cores: about 5 minutes, a fifth of the default 25-minute timeout, which
# leaves room for Glue's start, wider records and slower files.
DEFAULT_MAX_MEGABYTES_PER_RUN = 10 * 1024
MAX_MEGABYTES_PER_RUN = 1024 * 1024
TRIGGERS = ("schedule", "s3", "both")
EXECUTION_CLASSES = ("standard", "flex")
# Flex runs: Glue 3.0 or later, Spark ETL, G.1X or G.2X workers (AWS Glue Developer Guide, "Configuring
# job properties for Spark jobs", Execution class), and no job run queuing (a Flex job's
# JobRunQueuingEnabled must be false). A Flex run may wait up to 20 minutes for capacity before it
# starts (AWS Glue Developer Guide, "AWS Glue job run statuses", WAITING).
FLEX_WORKER_TYPES = ("G.1X", "G.2X")
FLEX_START_DELAY_MINUTES = 20
REMOVAL_POLICIES = ("retain", "destroy")
QUARANTINE_SUFFIX = "_quarantine"

# Worker types Glue 5.0 accepts for Spark ETL jobs (G.025X is streaming-only, Standard is legacy).
GLUE_ETL_WORKER_TYPES = (
    "G.1X", "G.2X", "G.4X", "G.8X", "G.12X", "G.16X", "R.1X", "R.2X", "R.4X", "R.8X",
)
MIN_WORKERS = 2
MAX_WORKERS = 1000


@dataclass(frozen=True)
class RetryPolicy:
    """How the state machine retries the Glue task (the original design's 3 x 10 s, with backoff)."""

    max_attempts: int = 3
    interval_seconds: int = 10
    backoff_rate: float = 2.0

    @property
    def total_attempts(self) -> int:
        return self.max_attempts + 1

    @property
    def longest_total_wait_seconds(self) -> int:
        """Sum of all retry waits; full jitter only ever shortens each one."""
        return sum(
            math.ceil(self.interval_seconds * self.backoff_rate**attempt)
            for attempt in range(self.max_attempts)
        )


RETRY_POLICY = RetryPolicy()
# The longest an execution may take; its own timeout is derived from the settings below it.
MAX_EXECUTION_MINUTES = 240
DEFAULT_COALESCING_WINDOW_MINUTES = 5
MAX_COALESCING_WINDOW_MINUTES = 60
DEFAULT_CATCH_UP_SCHEDULE = "cron(50 3 * * ? *)"
# Hours without a written record before the freshness alarm fires: a day plus an hourly run's slack.
DEFAULT_FRESHNESS_HOURS = 25
MAX_FRESHNESS_HOURS = 168


def attempts_seconds(job_timeout_minutes: int, start_delay_minutes: int, retry: RetryPolicy = RETRY_POLICY) -> int:
    """The longest one run's attempts and retry waits take; each attempt may first wait
    `start_delay_minutes` for capacity (Flex)."""
    return retry.total_attempts * (start_delay_minutes + job_timeout_minutes) * 60 + retry.longest_total_wait_seconds


def execution_timeout_minutes(
    job_timeout_minutes: int, window_minutes: int, start_delay_minutes: int = 0, retry: RetryPolicy = RETRY_POLICY
) -> int:
    """An execution's time budget: the coalescing window, then one run's worth of attempts ahead of
    ours (one run at a time: queued in Glue, or, for Flex, waited out by the workflow), then our own."""
    return window_minutes + math.ceil(2 * attempts_seconds(job_timeout_minutes, start_delay_minutes, retry) / 60)


def max_job_timeout_minutes(window_minutes: int = 0, start_delay_minutes: int = 0, retry: RetryPolicy = RETRY_POLICY) -> int:
    """Longest job timeout whose execution budget fits MAX_EXECUTION_MINUTES."""
    timeout = 1
    while execution_timeout_minutes(timeout + 1, window_minutes, start_delay_minutes, retry) <= MAX_EXECUTION_MINUTES:
        timeout += 1
    return timeout


class ConfigError(Exception):
    """A problem in the configuration file, described in one line."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    @property
    def object_pattern(self) -> str:
        """Key pattern covering every object at or under this location, for IAM resources."""
        return f"{self.prefix}*"


@dataclass(frozen=True)
class EnvironmentConfig:
    """Everything one environment's stack needs, validated."""

    name: str
    glue_db: str
    table_name: str
    destination_s3_location: S3Location
    quarantine_s3_location: S3Location
    # None only when the S3 trigger is on: the stack's own raw-data bucket is then the source.
    source_s3_location: S3Location | None = None
    account: str | None = None
    region: str | None = None
    topic_arn: str | None = None
    notification_email: str | None = None
    schedule: str = DEFAULT_SCHEDULE
    schedule_enabled: bool = True
    worker_type: str = DEFAULT_WORKER_TYPE
    number_of_workers: int = DEFAULT_NUMBER_OF_WORKERS
    job_timeout_minutes: int = DEFAULT_JOB_TIMEOUT_MINUTES
    max_quarantine_fraction: float = DEFAULT_MAX_QUARANTINE_FRACTION
    trigger: str = "schedule"
    event_key_prefix: str | None = None
    event_key_suffix: str = ""
    raw_bucket_removal_policy: str = "retain"
    notify_on_success: bool = False
    coalescing_window_minutes: int = DEFAULT_COALESCING_WINDOW_MINUTES
    catch_up_schedule: str = DEFAULT_CATCH_UP_SCHEDULE
    output_database: str | None = None
    output_table_name: str | None = None
    quarantine_table_name: str | None = None
    freshness_hours: int = DEFAULT_FRESHNESS_HOURS
    execution_class: str = "standard"
    max_megabytes_per_run: int = DEFAULT_MAX_MEGABYTES_PER_RUN
    source_kms_key_arn: str | None = None
    destination_kms_key_arn: str | None = None
    quarantine_kms_key_arn: str | None = None

    @property
    def curated_database(self) -> str:
        """The catalog database of the output and quarantine tables (the source's unless set)."""
        return self.output_database or self.glue_db

    @property
    def curated_table(self) -> str:
        return self.output_table_name or f"{self.table_name}_curated"

    @property
    def quarantine_table(self) -> str:
        return self.quarantine_table_name or f"{self.table_name}{QUARANTINE_SUFFIX}"

    @property
    def window_minutes(self) -> int:
        """The coalescing window the state machine waits out: only events from S3 have one."""
        return self.coalescing_window_minutes if self.on_object_created else 0

    @property
    def flex(self) -> bool:
        return self.execution_class == "flex"

    @property
    def start_delay_minutes(self) -> int:
        """How long one attempt may wait for capacity before it starts."""
        return FLEX_START_DELAY_MINUTES if self.flex else 0

    @property
    def queued_run_seconds(self) -> int:
        """The longest a run ahead of this one may keep it waiting: that run's attempts."""
        return attempts_seconds(self.job_timeout_minutes, self.start_delay_minutes)

    @property
    def execution_timeout_minutes(self) -> int:
        return execution_timeout_minutes(self.job_timeout_minutes, self.window_minutes, self.start_delay_minutes)

    @property
    def scheduled(self) -> bool:
        return self.trigger in ("schedule", "both")

    @property
    def on_object_created(self) -> bool:
        return self.trigger in ("s3", "both")

    @property
    def creates_raw_bucket(self) -> bool:
        return self.on_object_created and self.source_s3_location is None

    @property
    def stack_name(self) -> str:
        return f"GlueEtlPipeline-{self.name}"


@dataclass(frozen=True)
class PipelineConfig:
    """All environments of one configuration file, in file order."""

    source: str
    environments: tuple[EnvironmentConfig, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(env.name for env in self.environments)

    def select(self, wanted: str | None) -> tuple[EnvironmentConfig, ...]:
        """All environments when `wanted` is empty, else the one named (case-insensitive)."""
        if not wanted:
            return self.environments
        for env in self.environments:
            if env.name.lower() == wanted.lower():
                return (env,)
        raise ConfigError(
            f"{self.source}: unknown environment '{wanted}'; known environments: {', '.join(self.names)}"
        )


# --- value parsers: each returns the typed value or raises ValueError with the expectation ---

_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>.*))?$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")
_SNS_TOPIC_ARN = re.compile(
    r"^arn:aws(-cn|-us-gov|-iso|-iso-b)?:sns:[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}:\d{12}:[A-Za-z0-9_-]{1,256}$"
)
_KMS_KEY_ARN = re.compile(
    r"^arn:aws(-cn|-us-gov|-iso|-iso-b)?:kms:[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}:\d{12}:key/"
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_KEY_PART = re.compile(r"^[^*\s]{1,512}$")
_GLUE_NAME = re.compile(r"^[a-z0-9_]{1,255}$")
_ENVIRONMENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,15}$")
_RATE = re.compile(r"^rate\((?P<value>[1-9]\d*) (?P<unit>minute|minutes|hour|hours|day|days)\)$")
# EventBridge's six cron fields: (name, characters allowed, range of the numbers in it)
_CRON_FIELDS = (
    ("minutes", re.compile(r"^[0-9,*/-]+$"), range(0, 60)),
    ("hours", re.compile(r"^[0-9,*/-]+$"), range(0, 24)),
    ("day-of-month", re.compile(r"^([0-9,*/-]+|\?|L|LW|[0-9]{1,2}W)$"), range(1, 32)),
    ("month", re.compile(r"^([0-9,*/-]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)+$", re.IGNORECASE), range(1, 13)),
    ("day-of-week", re.compile(r"^(([1-7,*/-]|L|#|SUN|MON|TUE|WED|THU|FRI|SAT)+|\?)$", re.IGNORECASE), range(0, 8)),
    ("year", re.compile(r"^[0-9,*/-]+$"), range(1970, 2200)),
)


def parse_s3_uri(value: str) -> S3Location:
    match = _S3_URI.match(value)
    if not match or ".." in match["bucket"]:
        raise ValueError("expected an S3 URI such as s3://my-bucket/some/prefix/")
    prefix = match["prefix"] or ""
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    if "*" in prefix or "//" in prefix:
        raise ValueError("the prefix must not contain '*' or an empty path segment")
    return S3Location(bucket=match["bucket"], prefix=prefix)


def parse_schedule(value: str) -> str:
    rate = _RATE.match(value)
    if rate:
        amount, unit = rate.group("value", "unit")
        if (amount == "1") != (not unit.endswith("s")):
            raise ValueError("rate() takes a singular unit for 1 and a plural one otherwise, e.g. rate(1 hour)")
        return value
    if value.startswith("cron(") and value.endswith(")"):
        fields = value[5:-1].split()
        if len(fields) != 6:
            raise ValueError("a cron() expression has six fields: minutes hours day-of-month month day-of-week year")
        for (name, allowed, numbers), field in zip(_CRON_FIELDS, fields):
            steps = re.findall(r"/(\d+)", field)
            used = [int(number) for number in re.findall(r"(?<![/#\d])\d+", field)]
            if not allowed.match(field) or any(number not in numbers for number in used) or "0" in steps:
                raise ValueError(f"the {name} field '{field}' is malformed or out of range")
        if (fields[2] == "?") == (fields[4] == "?"):
            raise ValueError("exactly one of day-of-month and day-of-week must be '?'")
        return value
    raise ValueError("expected an EventBridge schedule such as cron(20 * * * ? *) or rate(1 hour)")


def parse_boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in configparser.ConfigParser.BOOLEAN_STATES:
        return configparser.ConfigParser.BOOLEAN_STATES[lowered]
    raise ValueError("expected true or false")


def parse_fraction(value: str) -> float:
    try:
        fraction = float(value)
    except ValueError:
        fraction = -1.0
    if not 0 <= fraction <= 1:
        raise ValueError("expected a fraction from 0 to 1, such as 0.1")
    return fraction


# The parsers below are small callable objects, not closures: each check runs when a value is parsed,
# never at import, so every line of it is exercised by the tests that parse values.
@dataclass(frozen=True)
class _BoundedInt:
    low: int
    high: int

    def __call__(self, value: str) -> int:
        if not re.fullmatch(r"\d+", value) or not self.low <= int(value) <= self.high:
            raise ValueError(f"expected a whole number from {self.low} to {self.high}")
        return int(value)


@dataclass(frozen=True)
class _Matching:
    pattern: re.Pattern[str]
    expectation: str

    def __call__(self, value: str) -> str:
        if not self.pattern.match(value):
            raise ValueError(self.expectation)
        return value


@dataclass(frozen=True)
class _OneOf:
    choices: tuple[str, ...]

    def __call__(self, value: str) -> str:
        if value not in self.choices:
            raise ValueError(f"expected one of {', '.join(self.choices)}")
        return value


def parse_job_timeout(value: str) -> int:
    return _BoundedInt(1, max_job_timeout_minutes())(value)


_KMS_KEY_RULE = "expected a KMS key ARN, arn:aws:kms:<region>:<account>:key/<key id> (an alias cannot be granted)"
_GLUE_NAME_RULE = "expected lower-case letters, digits and underscores (Glue stores catalog names in lower case)"

# key -> parser; a key without a default in EnvironmentConfig is required.
_PARSERS: Mapping[str, Callable[[str], object]] = {
    "glue_db": _Matching(_GLUE_NAME, _GLUE_NAME_RULE),
    "table_name": _Matching(_GLUE_NAME, _GLUE_NAME_RULE),
    "source_s3_location": parse_s3_uri,
    "destination_s3_location": parse_s3_uri,
    "quarantine_s3_location": parse_s3_uri,
    "account": _Matching(_ACCOUNT, "expected a 12-digit AWS account id"),
    "region": _Matching(_REGION, "expected an AWS region such as eu-west-1"),
    "topic_arn": _Matching(_SNS_TOPIC_ARN, "expected the ARN of a standard SNS topic, arn:aws:sns:<region>:<account>:<name>"),
    "notification_email": _Matching(_EMAIL, "expected an email address"),
    "schedule": parse_schedule,
    "schedule_enabled": parse_boolean,
    "worker_type": _OneOf(GLUE_ETL_WORKER_TYPES),
    "number_of_workers": _BoundedInt(MIN_WORKERS, MAX_WORKERS),
    "job_timeout_minutes": parse_job_timeout,
    "max_quarantine_fraction": parse_fraction,
    "trigger": _OneOf(TRIGGERS),
    "event_key_prefix": _Matching(_KEY_PART, "expected an S3 key prefix such as raw/ (no '*')"),
    "event_key_suffix": _Matching(_KEY_PART, "expected an S3 key suffix such as .json (no '*')"),
    "raw_bucket_removal_policy": _OneOf(REMOVAL_POLICIES),
    "notify_on_success": parse_boolean,
    "coalescing_window_minutes": _BoundedInt(1, MAX_COALESCING_WINDOW_MINUTES),
    "catch_up_schedule": parse_schedule,
    "output_database": _Matching(_GLUE_NAME, _GLUE_NAME_RULE),
    "output_table_name": _Matching(_GLUE_NAME, _GLUE_NAME_RULE),
    "quarantine_table_name": _Matching(_GLUE_NAME, _GLUE_NAME_RULE),
    "freshness_hours": _BoundedInt(1, MAX_FRESHNESS_HOURS),
    "execution_class": _OneOf(EXECUTION_CLASSES),
    "max_megabytes_per_run": _BoundedInt(1, MAX_MEGABYTES_PER_RUN),
    "source_kms_key_arn": _Matching(_KMS_KEY_ARN, _KMS_KEY_RULE),
    "destination_kms_key_arn": _Matching(_KMS_KEY_ARN, _KMS_KEY_RULE),
    "quarantine_kms_key_arn": _Matching(_KMS_KEY_ARN, _KMS_KEY_RULE),
}
_REQUIRED = ("glue_db", "table_name", "destination_s3_location")


class _Source:
    """Where each value came from, so an error points at the line the user has to edit."""

    def __init__(self, path: str, defaults: Mapping[str, str], section: str, own: Mapping[str, str]):
        self.path = path
        self.section = section
        self.values = {**defaults, **own}
        self._origin = {key: ("DEFAULT" if key not in own else section) for key in self.values}

    def error(self, key: str, problem: str) -> ConfigError:
        origin = self._origin.get(key, self.section)
        where = f"[{origin}]" if origin == self.section else f"[{origin}] (inherited by [{self.section}])"
        if key in self.values:
            return ConfigError(f"{self.path} {where} {key} = '{self.values[key]}': {problem}")
        return ConfigError(f"{self.path} {where} {key}: {problem}")


def _parse_environment(source: _Source) -> EnvironmentConfig:
    if not _ENVIRONMENT_NAME.match(source.section):
        raise ConfigError(
            f"{source.path} [{source.section}]: an environment name is a letter followed by up to 15 letters or digits"
        )
    parsed: dict[str, object] = {}
    for key in _REQUIRED:
        if not source.values.get(key, "").strip():
            raise source.error(key, "required key is missing")
    for key, raw in source.values.items():
        value = raw.strip()
        if not value:
            continue
        try:
            parsed[key] = _PARSERS[key](value)
        except ValueError as problem:
            raise source.error(key, str(problem)) from None
    if "source_s3_location" not in parsed and parsed.get("trigger", "schedule") == "schedule":
        raise source.error("source_s3_location", "required key is missing (it may be left out only when trigger includes s3)")
    if "quarantine_s3_location" not in parsed:
        destination = parsed["destination_s3_location"]
        if not destination.prefix:
            raise source.error(
                "quarantine_s3_location",
                "required when destination_s3_location is a bucket root (quarantine must sit beside the output)",
            )
        parsed["quarantine_s3_location"] = S3Location(
            destination.bucket, destination.prefix.rstrip("/") + QUARANTINE_SUFFIX + "/"
        )
    env = EnvironmentConfig(name=source.section, **parsed)
    if env.flex and env.worker_type not in FLEX_WORKER_TYPES:
        raise source.error("worker_type", f"expected {' or '.join(FLEX_WORKER_TYPES)} with execution_class = flex (Glue Flex runs no other)")
    if env.execution_timeout_minutes > MAX_EXECUTION_MINUTES:
        flex = f" and Flex's {FLEX_START_DELAY_MINUTES}-minute start delay per attempt" if env.flex else ""
        raise source.error(
            "job_timeout_minutes",
            f"expected at most {max_job_timeout_minutes(env.window_minutes, env.start_delay_minutes)} with a "
            f"{env.window_minutes}-minute coalescing window{flex}: the window, the attempts of a run ahead of it and this run's "
            f"must fit {MAX_EXECUTION_MINUTES} minutes",
        )
    if env.source_kms_key_arn and env.source_s3_location is None:
        raise source.error("source_kms_key_arn", "applies only to source_s3_location; the stack's own raw bucket is SSE-S3")
    if env.quarantine_kms_key_arn and env.quarantine_kms_key_arn != env.destination_kms_key_arn:
        raise source.error(
            "quarantine_kms_key_arn",
            "must be destination_kms_key_arn's key: a Glue security configuration encrypts all of a job's S3 writes with one key",
        )
    if env.curated_database == env.glue_db and env.table_name in (env.curated_table, env.quarantine_table):
        raise source.error(
            "output_table_name" if env.curated_table == env.table_name else "quarantine_table_name",
            "must differ from table_name, the source table in the same database",
        )
    if env.curated_table == env.quarantine_table:
        raise source.error("quarantine_table_name", "must differ from the output table's name")
    if env.topic_arn and env.notification_email:
        raise source.error(
            "notification_email",
            "an email subscription is only added to a topic the stack creates; subscribe it to topic_arn's topic instead",
        )
    if env.source_s3_location and _overlap(env.source_s3_location, env.destination_s3_location):
        raise source.error("destination_s3_location", "must not overlap source_s3_location, or the job would read its own output")
    for other in ("source_s3_location", "destination_s3_location"):
        if getattr(env, other) and _overlap(env.quarantine_s3_location, getattr(env, other)):
            raise source.error("quarantine_s3_location", f"must not overlap {other}")
    return env


def _overlap(first: S3Location, second: S3Location) -> bool:
    """Whether one location contains the other (a prefix is a folder: it ends with '/')."""
    return first.bucket == second.bucket and (
        first.prefix.startswith(second.prefix) or second.prefix.startswith(first.prefix)
    )


def load_config(path: str | Path) -> PipelineConfig:
    """Read and validate every environment of the configuration file at `path`."""
    path = Path(path)
    shown = path.name
    # A section name nobody writes, so [DEFAULT] is read as a plain section and each value's origin is known.
    # "key = value  # note" is a comment after whitespace; a "#" inside a value (cron's 2#1) stays.
    parser = configparser.ConfigParser(interpolation=None, default_section="\0", inline_comment_prefixes=("#",))
    try:
        with path.open(encoding="utf-8") as handle:
            parser.read_file(handle, source=shown)
    except FileNotFoundError:
        raise ConfigError(f"{shown}: configuration file not found at {path.resolve()}") from None
    except (configparser.Error, UnicodeDecodeError) as problem:
        raise ConfigError(f"{shown}: {' '.join(str(problem).split())}") from None

    defaults = dict(parser["DEFAULT"]) if parser.has_section("DEFAULT") else {}
    sections = [name for name in parser.sections() if name != "DEFAULT"]
    if not sections:
        raise ConfigError(f"{shown}: no environment sections; add one such as [DEV]")
    for section_name, own in [("DEFAULT", defaults)] + [(name, dict(parser[name])) for name in sections]:
        for key in own:
            if key not in _PARSERS:
                raise ConfigError(
                    f"{shown} [{section_name}] {key} = '{own[key]}': unknown key; known keys: {', '.join(_PARSERS)}"
                )
    return PipelineConfig(
        source=shown,
        environments=tuple(
            _parse_environment(_Source(shown, defaults, name, dict(parser[name]))) for name in sections
        ),
    )
