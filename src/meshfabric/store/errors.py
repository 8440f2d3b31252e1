"""What a store operation can refuse, independent of the database behind it."""

from meshfabric.resources.model import ResourceKey


class StoreError(Exception):
    pass


class NotFound(StoreError):
    def __init__(self, key: ResourceKey) -> None:
        super().__init__(f"{key} not found")
        self.key = key


class Conflict(StoreError):
    """The resource changed since the version the writer read."""

    def __init__(self, key: ResourceKey, expected: int, actual: int | None) -> None:
        found = "it does not exist" if actual is None else f"it is at version {actual}"
        super().__init__(f"{key}: expected version {expected}, but {found}")
        self.key = key
        self.expected = expected
        self.actual = actual


class MeshNotFound(StoreError):
    def __init__(self, mesh: str) -> None:
        super().__init__(f'mesh "{mesh}" does not exist')
        self.mesh = mesh


class StoreUnavailable(StoreError):
    """The database failed the operation (read-only, disk full, unreachable): try later."""

    def __init__(self, backend: str, cause: Exception) -> None:
        super().__init__(f"the {backend} database failed: {type(cause).__name__}: {cause}")
        self.cause = cause


class StoreHealth:
    """The last failure of the database behind a store, kept until a write succeeds again
    (a read that works proves nothing about a database that refuses writes)."""

    def __init__(self) -> None:
        self.failure: str | None = None
