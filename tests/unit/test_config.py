"""environment.conf parsing: defaults, inheritance, selection, and one clear line per mistake."""

from __future__ import annotations

import textwrap

import pytest

from glue_etl_pipeline.config import (
    DEFAULT_SCHEDULE,
    RETRY_POLICY,
    MAX_EXECUTION_MINUTES,
    ConfigError,
    S3Location,
    load_config,
    execution_timeout_minutes,
    max_job_timeout_minutes,
)

REQUIRED = {
    "glue_db": "travel",
    "table_name": "complaints",
    "source_s3_location": "s3://raw-bucket/complaints/",
    "destination_s3_location": "s3://curated-bucket/complaints",
}


def section(name: str = "DEV", **overrides: str) -> str:
    """An environment section with the required keys, changed or extended by `overrides`."""
    values = {**REQUIRED, **overrides}
    return f"[{name}]\n" + "".join(f"{key} = {value}\n" for key, value in values.items())


VALID_DEV = section()


def write(tmp_path, text: str):
    path = tmp_path / "environment.conf"
    path.write_text(textwrap.dedent(text))
    return path


def error_for(tmp_path, text: str) -> str:
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, text))
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_project_configuration_defines_dev_test_prod_inheriting_defaults(project_config):
    assert project_config.names == ("DEV", "TEST", "PROD")
    for env in project_config.environments:
        assert (env.glue_db, env.table_name) == ("travel", "complaints")
        assert env.schedule == "cron(20 * * * ? *)"
    assert project_config.environments[2].number_of_workers == 4


def test_optional_keys_take_documented_defaults(tmp_path):
    (env,) = load_config(write(tmp_path, VALID_DEV)).environments
    assert env.schedule == DEFAULT_SCHEDULE == "cron(20 * * * ? *)"
    assert env.schedule_enabled is True
    assert (env.worker_type, env.number_of_workers, env.job_timeout_minutes) == ("G.1X", 2, 25)
    assert env.account is env.region is env.topic_arn is env.notification_email is None
    assert env.destination_s3_location == S3Location("curated-bucket", "complaints/")
    assert env.quarantine_s3_location == S3Location("curated-bucket", "complaints_quarantine/")
    assert env.max_quarantine_fraction == 0.1
    assert env.stack_name == "GlueEtlPipeline-DEV"


def test_every_optional_key_is_parsed_to_its_type(tmp_path):
    (env,) = load_config(
        write(
            tmp_path,
            section(
                account="123456789012",
                region="eu-west-1",
                topic_arn="arn:aws:sns:eu-west-1:123456789012:alerts",
                schedule="rate(30 minutes)",
                schedule_enabled="off",
                worker_type="G.2X",
                number_of_workers="10",
                job_timeout_minutes="29",
            ),
        )
    ).environments
    assert (env.account, env.region) == ("123456789012", "eu-west-1")
    assert env.topic_arn == "arn:aws:sns:eu-west-1:123456789012:alerts"
    assert (env.schedule, env.schedule_enabled) == ("rate(30 minutes)", False)
    assert (env.worker_type, env.number_of_workers, env.job_timeout_minutes) == ("G.2X", 10, 29)


def test_job_timeout_limit_keeps_the_whole_budget_inside_the_maximum():
    for window in (0, 5, 60):
        limit = max_job_timeout_minutes(window)
        assert execution_timeout_minutes(limit, window) <= MAX_EXECUTION_MINUTES < execution_timeout_minutes(limit + 1, window)
    assert (max_job_timeout_minutes(0), max_job_timeout_minutes(5), max_job_timeout_minutes(60)) == (29, 29, 22)
    assert RETRY_POLICY.longest_total_wait_seconds == 10 + 20 + 40


def test_a_long_window_lowers_the_job_timeout_limit(tmp_path):
    text = section(trigger="s3", coalescing_window_minutes="60", job_timeout_minutes="25")
    assert error_for(tmp_path, text) == (
        "environment.conf [DEV] job_timeout_minutes = '25': expected at most 22 with a 60-minute coalescing window: "
        "the window, the attempts of a run ahead of it and this run's must fit 240 minutes"
    )
    env = load_config(write(tmp_path, section(trigger="s3", coalescing_window_minutes="60", job_timeout_minutes="22"))).environments[0]
    assert env.execution_timeout_minutes == 239
    scheduled = load_config(write(tmp_path, section(coalescing_window_minutes="60", job_timeout_minutes="29"))).environments[0]
    assert scheduled.window_minutes == 0  # no S3 trigger: nothing to wait for


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("account = 1234", "[DEV] account = '1234': expected a 12-digit AWS account id"),
        ("region = europe", "[DEV] region = 'europe': expected an AWS region such as eu-west-1"),
        (
            "topic_arn = arn:aws:sqs:eu-west-1:123456789012:q",
            "[DEV] topic_arn = 'arn:aws:sqs:eu-west-1:123456789012:q': expected the ARN of a standard SNS topic",
        ),
        ("notification_email = someone", "[DEV] notification_email = 'someone': expected an email address"),
        ("schedule = every hour", "[DEV] schedule = 'every hour': expected an EventBridge schedule"),
        ("schedule = cron(20 * * * *)", "a cron() expression has six fields"),
        ("schedule = cron(61 * * * ? *)", "the minutes field '61' is malformed or out of range"),
        ("schedule = cron(0 24 * * ? *)", "the hours field '24' is malformed or out of range"),
        ("schedule = cron(20 * * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("schedule = cron(0/0 * * * ? *)", "the minutes field '0/0' is malformed or out of range"),
        ("schedule = rate(1 hours)", "rate() takes a singular unit for 1"),
        ("schedule = rate(0 minutes)", "[DEV] schedule = 'rate(0 minutes)': expected an EventBridge schedule"),
        ("schedule_enabled = maybe", "[DEV] schedule_enabled = 'maybe': expected true or false"),
        ("worker_type = G.3X", "[DEV] worker_type = 'G.3X': expected one of G.1X, G.2X"),
        ("worker_type = G.025X", "[DEV] worker_type = 'G.025X': expected one of"),
        ("number_of_workers = 1", "[DEV] number_of_workers = '1': expected a whole number from 2 to 1000"),
        ("number_of_workers = two", "[DEV] number_of_workers = 'two': expected a whole number from 2 to 1000"),
        ("number_of_workers = 1001", "expected a whole number from 2 to 1000"),
        ("job_timeout_minutes = 0", "[DEV] job_timeout_minutes = '0': expected a whole number from 1 to 29"),
        ("job_timeout_minutes = 30", "[DEV] job_timeout_minutes = '30': expected a whole number from 1 to 29"),
        ("glue_db = Travel", "[DEV] glue_db = 'Travel': expected lower-case letters, digits and underscores"),
        ("table_name = my-table", "[DEV] table_name = 'my-table': expected lower-case letters, digits"),
        ("source_s3_location = raw-bucket/x", "[DEV] source_s3_location = 'raw-bucket/x': expected an S3 URI"),
        ("source_s3_location = s3://Raw_Bucket/x", "expected an S3 URI such as s3://my-bucket/some/prefix/"),
        ("source_s3_location = s3://raw-bucket/a/*", "the prefix must not contain '*'"),
        (
            "destination_s3_location = s3://raw-bucket/complaints/parquet/",
            "[DEV] destination_s3_location = 's3://raw-bucket/complaints/parquet/': must not overlap source_s3_location",
        ),
        ("quarantine_s3_location = s3://curated-bucket/complaints/bad/", "[DEV] quarantine_s3_location = 's3://curated-bucket/complaints/bad/': must not overlap destination_s3_location"),
        ("quarantine_s3_location = s3://raw-bucket/", "must not overlap source_s3_location"),
        ("max_quarantine_fraction = 1.5", "[DEV] max_quarantine_fraction = '1.5': expected a fraction from 0 to 1"),
        ("max_quarantine_fraction = lots", "expected a fraction from 0 to 1, such as 0.1"),
        ("colour = blue", "[DEV] colour = 'blue': unknown key; known keys: glue_db, table_name"),
    ],
)
def test_bad_value_is_one_line_naming_file_section_key_and_value(tmp_path, extra, expected):
    key, value = (part.strip() for part in extra.split("=", 1))
    message = error_for(tmp_path, section(**{key: value}))
    assert message.startswith("environment.conf [DEV] ")
    assert expected in message


def test_email_subscription_needs_a_topic_the_stack_creates(tmp_path):
    message = error_for(
        tmp_path,
        section(topic_arn="arn:aws:sns:eu-west-1:123456789012:alerts", notification_email="a@example.com"),
    )
    assert message.startswith("environment.conf [DEV] notification_email = 'a@example.com': an email subscription")


def test_quarantine_location_is_required_when_output_is_a_bucket_root(tmp_path):
    message = error_for(tmp_path, section(destination_s3_location="s3://curated-bucket"))
    assert message.startswith("environment.conf [DEV] quarantine_s3_location: required when destination_s3_location")


def test_explicit_quarantine_location_and_fraction(tmp_path):
    (env,) = load_config(
        write(tmp_path, section(quarantine_s3_location="s3://dq-bucket/held/", max_quarantine_fraction="0.02"))
    ).environments
    assert (env.quarantine_s3_location, env.max_quarantine_fraction) == (S3Location("dq-bucket", "held/"), 0.02)


def test_missing_required_key_is_named(tmp_path):
    message = error_for(tmp_path, VALID_DEV.replace("table_name = complaints\n", ""))
    assert message == "environment.conf [DEV] table_name: required key is missing"


def test_empty_required_value_counts_as_missing(tmp_path):
    message = error_for(tmp_path, VALID_DEV.replace("glue_db = travel", "glue_db ="))
    assert message == "environment.conf [DEV] glue_db = '': required key is missing"


def test_bad_value_inherited_from_default_points_at_default(tmp_path):
    message = error_for(tmp_path, "[DEFAULT]\nregion = mars-1\n" + VALID_DEV)
    assert message == (
        "environment.conf [DEFAULT] (inherited by [DEV]) region = 'mars-1': expected an AWS region such as eu-west-1"
    )


def test_unknown_key_in_default_is_reported_against_default(tmp_path):
    message = error_for(tmp_path, "[DEFAULT]\nworkers = 3\n" + VALID_DEV)
    assert message.startswith("environment.conf [DEFAULT] workers = '3': unknown key")


def test_section_value_overrides_default(tmp_path):
    (env,) = load_config(write(tmp_path, "[DEFAULT]\nnumber_of_workers = 3\n" + section(number_of_workers="6"))).environments
    assert env.number_of_workers == 6


def test_environment_name_must_suit_stack_and_job_names(tmp_path):
    message = error_for(tmp_path, VALID_DEV.replace("[DEV]", "[dev env]"))
    assert message == "environment.conf [dev env]: an environment name is a letter followed by up to 15 letters or digits"


def test_file_without_environments_is_rejected(tmp_path):
    assert error_for(tmp_path, "[DEFAULT]\nglue_db = travel\n") == (
        "environment.conf: no environment sections; add one such as [DEV]"
    )


def test_malformed_ini_is_one_line(tmp_path):
    message = error_for(tmp_path, "glue_db = travel\n")
    assert message.startswith("environment.conf: File contains no section headers.")


def test_duplicate_key_is_one_line(tmp_path):
    message = error_for(tmp_path, "[DEV]\nglue_db = a\nglue_db = b\n")
    # The file's name, not its full path, as in every other message.
    assert message == "environment.conf: While reading from 'environment.conf' [line 3]: option 'glue_db' in section 'DEV' already exists"


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(ConfigError, match=r"^nowhere.conf: configuration file not found at .*nowhere.conf$"):
        load_config(tmp_path / "nowhere.conf")


def test_select_all_by_default_and_one_case_insensitively(tmp_path):
    config = load_config(write(tmp_path, VALID_DEV + section("PROD")))
    assert config.select(None) == config.environments
    assert [env.name for env in config.select("prod")] == ["PROD"]


def test_select_unknown_environment_lists_known_ones(project_config):
    with pytest.raises(ConfigError) as raised:
        project_config.select("QA")
    assert str(raised.value) == "environment.conf: unknown environment 'QA'; known environments: DEV, TEST, PROD"


@pytest.mark.parametrize(
    "schedule",
    ["cron(20 * * * ? *)", "cron(0 8 ? * MON-FRI *)", "cron(0/15 * * * ? *)", "cron(0 0 L * ? 2027)", "rate(1 hour)"],
)
def test_valid_schedules_are_accepted(tmp_path, schedule):
    (env,) = load_config(write(tmp_path, section(schedule=schedule))).environments
    assert env.schedule == schedule


def test_trigger_defaults_to_schedule(tmp_path):
    (env,) = load_config(write(tmp_path, VALID_DEV)).environments
    assert (env.trigger, env.scheduled, env.on_object_created, env.creates_raw_bucket) == ("schedule", True, False, False)
    assert (env.event_key_prefix, env.event_key_suffix, env.raw_bucket_removal_policy, env.notify_on_success) == (
        None, "", "retain", False,
    )


def test_s3_trigger_without_source_means_an_own_raw_bucket(tmp_path):
    text = section(trigger="s3", event_key_suffix=".json", notify_on_success="true").replace(
        "source_s3_location = s3://raw-bucket/complaints/\n", ""
    )
    (env,) = load_config(write(tmp_path, text)).environments
    assert env.source_s3_location is None and env.creates_raw_bucket and not env.scheduled
    assert (env.event_key_suffix, env.notify_on_success) == (".json", True)


def test_source_is_required_for_a_schedule_only_pipeline(tmp_path):
    message = error_for(tmp_path, VALID_DEV.replace("source_s3_location = s3://raw-bucket/complaints/\n", ""))
    assert message == (
        "environment.conf [DEV] source_s3_location: required key is missing (it may be left out only when trigger includes s3)"
    )


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("trigger", "cron", "[DEV] trigger = 'cron': expected one of schedule, s3, both"),
        ("event_key_prefix", "raw/*", "[DEV] event_key_prefix = 'raw/*': expected an S3 key prefix such as raw/"),
        ("event_key_suffix", "*.json", "[DEV] event_key_suffix = '*.json': expected an S3 key suffix such as .json"),
        ("raw_bucket_removal_policy", "delete", "[DEV] raw_bucket_removal_policy = 'delete': expected one of retain, destroy"),
        ("notify_on_success", "sometimes", "[DEV] notify_on_success = 'sometimes': expected true or false"),
    ],
)
def test_bad_trigger_settings_are_one_line_errors(tmp_path, key, value, expected):
    assert expected in error_for(tmp_path, section(**{key: value}))


def test_inline_comments_are_ignored_but_a_hash_inside_a_value_is_kept(tmp_path):
    text = section(trigger="both   # the hourly rule and new objects", schedule="cron(0 8 ? * 2#1 *)")
    (env,) = load_config(write(tmp_path, text)).environments
    assert (env.trigger, env.schedule) == ("both", "cron(0 8 ? * 2#1 *)")


@pytest.mark.parametrize(
    ("field", "schedule", "accepted"),
    [
        ("minutes", "cron(59 * * * ? *)", True),
        ("minutes", "cron(60 * * * ? *)", False),
        ("minutes", "cron(0-60 * * * ? *)", False),
        ("hours", "cron(0 23 * * ? *)", True),
        ("hours", "cron(0 24 * * ? *)", False),
        ("day-of-month", "cron(0 0 31 * ? *)", True),
        ("day-of-month", "cron(0 0 32 * ? *)", False),
        ("day-of-month", "cron(0 0 0 * ? *)", False),
        ("day-of-month", "cron(0 0 15W * ? *)", True),
        ("month", "cron(0 0 1 12 ? *)", True),
        ("month", "cron(0 0 1 13 ? *)", False),
        ("month", "cron(0 0 1 0 ? *)", False),
        ("month", "cron(0 0 1 JAN-MAR ? *)", True),
        ("day-of-week", "cron(0 0 ? * 7 *)", True),
        ("day-of-week", "cron(0 0 ? * 8 *)", False),
        ("day-of-week", "cron(0 0 ? * 6L *)", True),
        ("year", "cron(0 0 1 1 ? 1970)", True),
        ("year", "cron(0 0 1 1 ? 1969)", False),
        ("year", "cron(0 0 1 1 ? 2199)", True),
        ("year", "cron(0 0 1 1 ? 2200)", False),
        ("minutes", "cron(*/15 * * * ? *)", True),
        ("minutes", "cron(x * * * ? *)", False),
    ],
)
def test_each_cron_field_is_checked_against_its_own_range(tmp_path, field, schedule, accepted):
    """EventBridge's ranges: minutes 0-59, hours 0-23, day 1-31, month 1-12, weekday 1-7, year 1970-2199."""
    if accepted:
        assert load_config(write(tmp_path, section(schedule=schedule))).environments[0].schedule == schedule
    else:
        fields = schedule[5:-1].split()
        names = ("minutes", "hours", "day-of-month", "month", "day-of-week", "year")
        message = error_for(tmp_path, section(schedule=schedule))
        assert message.endswith(f"the {field} field '{fields[names.index(field)]}' is malformed or out of range")


@pytest.mark.parametrize(("schedule", "accepted"), [("rate(1 minute)", True), ("rate(2 minutes)", True), ("rate(1 day)", True), ("rate(2 day)", False)])
def test_rate_units_agree_with_the_amount(tmp_path, schedule, accepted):
    text = section(schedule=schedule)
    if accepted:
        assert load_config(write(tmp_path, text)).environments[0].schedule == schedule
    else:
        assert error_for(tmp_path, text).endswith(
            "rate() takes a singular unit for 1 and a plural one otherwise, e.g. rate(1 hour)"
        )


@pytest.mark.parametrize(("value", "expected"), [("0", 0.0), ("1", 1.0), ("0.25", 0.25)])
def test_quarantine_fraction_bounds_are_inclusive(tmp_path, value, expected):
    (env,) = load_config(write(tmp_path, section(max_quarantine_fraction=value))).environments
    assert env.max_quarantine_fraction == expected


@pytest.mark.parametrize("value", ["-0.1", "1.01", "nan", "inf"])
def test_quarantine_fraction_outside_zero_to_one_is_rejected(tmp_path, value):
    assert error_for(tmp_path, section(max_quarantine_fraction=value)) == (
        f"environment.conf [DEV] max_quarantine_fraction = '{value}': expected a fraction from 0 to 1, such as 0.1"
    )


@pytest.mark.parametrize(
    ("overrides", "key", "other"),
    [
        # The quarantine is placed apart, so only the destination overlaps the source.
        (
            {"destination_s3_location": "s3://raw-bucket/complaints/parquet/", "quarantine_s3_location": "s3://side/q/"},
            "destination_s3_location",
            "source_s3_location",
        ),
        (
            {"destination_s3_location": "s3://raw-bucket/", "quarantine_s3_location": "s3://side/q/"},
            "destination_s3_location",
            "source_s3_location",
        ),
        ({"quarantine_s3_location": "s3://raw-bucket/complaints/q/"}, "quarantine_s3_location", "source_s3_location"),
        ({"quarantine_s3_location": "s3://curated-bucket/"}, "quarantine_s3_location", "destination_s3_location"),
    ],
)
def test_overlapping_locations_name_the_key_to_change_and_the_one_it_overlaps(tmp_path, overrides, key, other):
    message = error_for(tmp_path, section(**overrides))
    assert message == f"environment.conf [DEV] {key} = '{overrides[key]}': must not overlap {other}" + (
        ", or the job would read its own output" if key == "destination_s3_location" else ""
    )


@pytest.mark.parametrize(
    ("destination", "quarantine"),
    [
        ("s3://raw-bucket/complaints_curated/", "s3://raw-bucket/complaints_bad/"),  # siblings sharing a name's start
        ("s3://curated-bucket/complaints/", "s3://other-bucket/complaints/"),  # same prefix, other bucket
    ],
)
def test_locations_that_only_look_alike_do_not_overlap(tmp_path, destination, quarantine):
    text = section(destination_s3_location=destination, quarantine_s3_location=quarantine)
    (env,) = load_config(write(tmp_path, text)).environments
    assert env.quarantine_s3_location.uri == quarantine


def test_select_unknown_environment_names_the_file(tmp_path):
    config = load_config(write(tmp_path, VALID_DEV + section("PROD")))
    with pytest.raises(ConfigError) as raised:
        config.select("QA")
    assert str(raised.value) == "environment.conf: unknown environment 'QA'; known environments: DEV, PROD"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"output_table_name": "complaints"}, "[DEV] output_table_name = 'complaints': must differ from table_name, the source table in the same database"),
        ({"quarantine_table_name": "complaints"}, "[DEV] quarantine_table_name = 'complaints': must differ from table_name, the source table in the same database"),
        ({"output_table_name": "same", "quarantine_table_name": "same"}, "[DEV] quarantine_table_name = 'same': must differ from the output table's name"),
    ],
)
def test_table_names_that_collide_name_the_key_to_change(tmp_path, overrides, message):
    assert error_for(tmp_path, section(**overrides)) == f"environment.conf {message}"


def test_an_output_table_named_like_the_source_is_fine_in_another_database(tmp_path):
    (env,) = load_config(write(tmp_path, section(output_database="analytics", output_table_name="complaints"))).environments
    assert (env.curated_database, env.curated_table) == ("analytics", "complaints")


def test_an_empty_optional_value_takes_the_default_and_later_keys_are_still_checked(tmp_path):
    text = "[DEV]\naccount =\n" + "".join(f"{key} = {value}\n" for key, value in REQUIRED.items()) + "region = europe\n"
    assert error_for(tmp_path, text) == "environment.conf [DEV] region = 'europe': expected an AWS region such as eu-west-1"


def test_the_default_quarantine_sits_beside_the_output_whatever_the_prefix_ends_with(tmp_path):
    (env,) = load_config(write(tmp_path, section(destination_s3_location="s3://curated-bucket/dataX/"))).environments
    assert env.quarantine_s3_location == S3Location("curated-bucket", "dataX_quarantine/")


def test_an_execution_budget_of_exactly_the_maximum_is_accepted(tmp_path):
    # A 5-minute window plus 8 x 29 minutes of attempts and 3 minutes of retry waits: 240 minutes.
    (env,) = load_config(write(tmp_path, section(trigger="s3", job_timeout_minutes="29"))).environments
    assert env.execution_timeout_minutes == MAX_EXECUTION_MINUTES == 240


def test_a_percent_sign_is_a_plain_character(tmp_path):
    (env,) = load_config(write(tmp_path, section(notification_email="ops%alerts@example.com"))).environments
    assert env.notification_email == "ops%alerts@example.com"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("source_s3_location", "s3://raw-bucket/a//b/", "the prefix must not contain '*' or an empty path segment"),
        ("source_s3_location", "s3://raw..bucket/a/", "expected an S3 URI such as s3://my-bucket/some/prefix/"),
        ("schedule", "cron(20 * * * *)", "a cron() expression has six fields: minutes hours day-of-month month day-of-week year"),
        ("schedule", "cron(20 * * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("schedule", "cron(20 * ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
    ],
)
def test_location_and_schedule_messages_in_full(tmp_path, key, value, message):
    assert error_for(tmp_path, section(**{key: value})) == f"environment.conf [DEV] {key} = '{value}': {message}"


# --- Customer-managed keys and Flex --------------------------------------------------------------

KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY = "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234567890abcdef1234567890abcdef"


def test_keys_are_optional_and_read_when_given(tmp_path):
    (plain,) = load_config(write(tmp_path, VALID_DEV)).environments
    assert plain.source_kms_key_arn is plain.destination_kms_key_arn is plain.quarantine_kms_key_arn is None
    text = section(source_kms_key_arn=OTHER_KEY, destination_kms_key_arn=KEY, quarantine_kms_key_arn=KEY)
    (env,) = load_config(write(tmp_path, text)).environments
    assert (env.source_kms_key_arn, env.destination_kms_key_arn, env.quarantine_kms_key_arn) == (OTHER_KEY, KEY, KEY)


@pytest.mark.parametrize("key", ["source_kms_key_arn", "destination_kms_key_arn", "quarantine_kms_key_arn"])
@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:kms:eu-west-1:123456789012:alias/producer",  # an alias cannot be granted
        "1234abcd-12ab-34cd-56ef-1234567890ab",  # a bare key id
        "arn:aws:kms:eu-west-1:1234:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:s3:::bucket",
        KEY + "x",
    ],
)
def test_a_key_that_is_not_a_key_arn_is_named_in_one_line(tmp_path, key, value):
    assert error_for(tmp_path, section(**{key: value})) == (
        f"environment.conf [DEV] {key} = '{value}': expected a KMS key ARN, "
        "arn:aws:kms:<region>:<account>:key/<key id> (an alias cannot be granted)"
    )


def test_the_quarantine_is_written_under_the_destination_key_only(tmp_path):
    message = error_for(tmp_path, section(destination_kms_key_arn=KEY, quarantine_kms_key_arn=OTHER_KEY))
    assert message == (
        f"environment.conf [DEV] quarantine_kms_key_arn = '{OTHER_KEY}': must be destination_kms_key_arn's key: "
        "a Glue security configuration encrypts all of a job's S3 writes with one key"
    )
    assert "must be destination_kms_key_arn's key" in error_for(tmp_path, section(quarantine_kms_key_arn=KEY))


def test_a_source_key_needs_an_existing_source(tmp_path):
    text = section(trigger="s3", source_kms_key_arn=KEY).replace("source_s3_location = s3://raw-bucket/complaints/\n", "")
    assert error_for(tmp_path, text) == (
        f"environment.conf [DEV] source_kms_key_arn = '{KEY}': applies only to source_s3_location; "
        "the stack's own raw bucket is SSE-S3"
    )


def test_execution_class_defaults_to_standard_and_accepts_flex(tmp_path):
    (standard,) = load_config(write(tmp_path, VALID_DEV)).environments
    assert (standard.execution_class, standard.flex, standard.start_delay_minutes) == ("standard", False, 0)
    (flex,) = load_config(write(tmp_path, section(execution_class="flex", job_timeout_minutes="8"))).environments
    assert (flex.execution_class, flex.flex, flex.start_delay_minutes) == ("flex", True, 20)
    # Every attempt (of this run and of one ahead of it) may wait 20 minutes for capacity first:
    # 2 x (4 attempts x (20 + 8) minutes + 70 s of retry waits) = 226.3, rounded up.
    assert flex.execution_timeout_minutes == 227
    assert flex.queued_run_seconds == 4 * 28 * 60 + 70


def test_an_unknown_execution_class_is_named(tmp_path):
    assert error_for(tmp_path, section(execution_class="FLEX")) == (
        "environment.conf [DEV] execution_class = 'FLEX': expected one of standard, flex"
    )


@pytest.mark.parametrize("worker_type", ["G.4X", "R.1X"])
def test_flex_runs_only_on_the_worker_types_glue_documents(tmp_path, worker_type):
    text = section(execution_class="flex", worker_type=worker_type, job_timeout_minutes="8")
    assert error_for(tmp_path, text) == (
        f"environment.conf [DEV] worker_type = '{worker_type}': expected G.1X or G.2X with execution_class = flex (Glue Flex runs no other)"
    )


def test_flex_start_delays_lower_the_job_timeout_limit(tmp_path):
    limit = max_job_timeout_minutes(0, 20)
    assert execution_timeout_minutes(limit, 0, 20) <= MAX_EXECUTION_MINUTES < execution_timeout_minutes(limit + 1, 0, 20)
    (env,) = load_config(write(tmp_path, section(execution_class="flex", job_timeout_minutes=str(limit)))).environments
    assert env.execution_timeout_minutes <= MAX_EXECUTION_MINUTES
    message = error_for(tmp_path, section(execution_class="flex", job_timeout_minutes=str(limit + 1)))
    assert message == (
        f"environment.conf [DEV] job_timeout_minutes = '{limit + 1}': expected at most {limit} with a 0-minute coalescing "
        "window and Flex's 20-minute start delay per attempt: the window, the attempts of a run ahead of it and this "
        "run's must fit 240 minutes"
    )


def test_a_run_reads_at_most_ten_gibibytes_unless_configured(tmp_path):
    (default,) = load_config(write(tmp_path, VALID_DEV)).environments
    assert default.max_megabytes_per_run == 10 * 1024
    (configured,) = load_config(write(tmp_path, section(max_megabytes_per_run="512"))).environments
    assert configured.max_megabytes_per_run == 512
    assert error_for(tmp_path, section(max_megabytes_per_run="0")) == (
        "environment.conf [DEV] max_megabytes_per_run = '0': expected a whole number from 1 to 1048576"
    )
