"""The one exception type that Embryo raises for bad input."""


class EmbryoError(ValueError):
    """Bad input: a missing or malformed file, an unknown config key, an impossible setting.

    The message always names the file (and line) or the config key, and what was expected.
    """


def where(path, line: int | None = None) -> str:
    """Format a location for an error message: ``path`` or ``path:line``."""
    return f"{path}:{line}" if line is not None else str(path)
