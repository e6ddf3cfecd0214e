"""Errors a user can act on. The CLI prints their message on one line, never a traceback."""


class VoxError(Exception):
    """Something the user can fix; the message says what."""


class ConfigError(VoxError):
    """A setting is malformed or missing."""


class UnreachableError(VoxError):
    """A service vox needs (Kafka, ClickHouse) does not answer."""


class RefusedError(VoxError):
    """A service answered and refused: retrying the same request gets the same answer."""
