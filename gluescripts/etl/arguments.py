"""Job arguments as Glue passes them (`--name value` pairs among many others it adds itself)."""

from __future__ import annotations


class ArgumentError(ValueError):
    """A required job argument is missing or empty."""


def resolve_arguments(argv: list[str], names: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, str]:
    """The values of `names` (required) and of those `optional` names present, from `argv`.

    The contract of awsglue.utils.getResolvedOptions for required names.
    """
    values: dict[str, str] = {}
    for position, token in enumerate(argv):
        name = token[2:] if token.startswith("--") else None
        if name in names + optional and position + 1 < len(argv):
            values[name] = argv[position + 1]
    missing = [f"--{name}" for name in names if not values.get(name)]
    if missing:
        raise ArgumentError(f"missing job argument(s): {', '.join(missing)}")
    return values
