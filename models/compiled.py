"""Compiled kernels: per-row loops that no vectorised numpy pass does in one go.

A kernel is a plain Python function under the `compiled` decorator: numba compiles it at its
first call and caches it on disk (numba's `cache=True`: in `NUMBA_CACHE_DIR` when set — the
Docker image points it at the data volume — else next to the kernel's module or in the user's
cache folder), so compilation is paid once per machine; with no writable folder, once per
process. Kernels are compiled without fast-math unless they say otherwise, so they evaluate
exactly the floating-point steps they are written with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_Kernel = Callable[..., Any]


class compiled:  # noqa: N801 - used as a decorator
    """A numba kernel compiled (or loaded from numba's on-disk cache) at its first call, so a
    process that never runs one — the web server, a merge without engagement fits — never
    loads the compiler."""

    def __init__(self, function: _Kernel, **options: Any) -> None:
        self._function = function
        self._options = options
        self._kernel: _Kernel | None = None

    @classmethod
    def with_options(cls, **options: Any) -> Callable[[_Kernel], compiled]:
        """The decorator with numba compile options (such as fast-math flags)."""
        return lambda function: cls(function, **options)

    def __call__(self, *args: Any) -> Any:
        if self._kernel is None:
            import numba

            try:
                self._kernel = numba.njit(cache=True, nogil=True, **self._options)(self._function)
            except RuntimeError:  # no writable cache folder: compile for this process only
                self._kernel = numba.njit(cache=False, nogil=True, **self._options)(self._function)
        return self._kernel(*args)
