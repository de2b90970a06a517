"""Frozen records: what ``@dataclass(frozen=True)`` gives (positional and keyword
construction, field-wise ``==`` and ``hash``, a ``Name(field=value, ...)`` repr, no
assignment after construction) without importing ``dataclasses`` (and ``inspect``
behind it) or generating methods with ``exec`` when the module is imported: the
modules on the path of every command (config, source, split) pay that at each start.

A subclass names its fields in ``_fields`` (construction order), the ones left out
of the repr in ``_hidden``, the ones left out of ``==``/``hash`` in ``_uncompared``,
and writes its own ``__init__`` with ``_set``.
"""

from __future__ import annotations


class FrozenInstanceError(AttributeError):
    """Raised on assignment to a field of a record (as dataclasses' error of that name)."""


class Record:
    _fields: tuple[str, ...] = ()
    _hidden: frozenset[str] = frozenset()
    _uncompared: frozenset[str] = frozenset()

    def _set(self, **values) -> None:
        self.__dict__.update(values)

    def __setattr__(self, name: str, value) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def _key(self) -> tuple:
        return tuple(getattr(self, f) for f in self._fields if f not in self._uncompared)

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return self._key() == other._key()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        shown = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields if f not in self._hidden)
        return f"{self.__class__.__qualname__}({shown})"
