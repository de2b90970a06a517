"""Regular expressions compiled on first use.

Compiling the engine's patterns (the statement splitter's, the catalog's) took several
milliseconds at every start, and most runs (a no-op ``up``, ``status``) use few of them.
``lazy_re(pattern, flags)`` stands for ``re.compile(pattern, flags)``: the first use of a
method (``match``, ``search``, ``finditer``, ``sub``...) compiles it, and the compiled
pattern's methods are then plain attributes, as fast as the pattern's own.
"""

from __future__ import annotations

import re


class LazyPattern:
    def __init__(self, pattern: str, flags: int = 0):
        self.__dict__["_args"] = (pattern, flags)

    def __getattr__(self, name: str):  # only for what __dict__ lacks: before the first use
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(re.compile(*self.__dict__["_args"]), name)
        self.__dict__[name] = value
        return value

    def __repr__(self) -> str:
        return f"lazy_re({self.__dict__['_args'][0]!r})"


def lazy_re(pattern: str, flags: int = 0) -> LazyPattern:
    return LazyPattern(pattern, flags)
