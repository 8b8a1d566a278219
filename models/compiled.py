"""Compiled kernels: per-row loops that no vectorised numpy pass does in one go.

A kernel is a plain Python function under the `compiled` decorator: numba compiles it at its
first call and caches it on disk (numba's `cache=True`: in `NUMBA_CACHE_DIR` when set — the
Docker image points it at the data volume — else next to the kernel's module or in the user's
cache folder), so compilation is paid once per machine; with no writable folder, once per
process. Kernels are compiled without fast-math: they evaluate exactly the floating-point steps
they are written with, in the order written, so their results do not depend on the CPU's vector
width or on whether it fuses multiply-adds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_Kernel = Callable[..., Any]

# plain functions that kernels call; registered with numba when the first kernel compiles
_HELPERS: list[_Kernel] = []
_REGISTERED: set[int] = set()


def kernel_helper(function: _Kernel) -> _Kernel:
    """Mark a plain function as callable from kernels: numba inlines it into each kernel that
    calls it (in numba's own representation, compiled with the kernel's own lines). Python and
    numpy callers call the function as it is."""
    _HELPERS.append(function)
    return function


def _register_helpers() -> None:
    from numba.extending import register_jitable

    for helper in _HELPERS:
        if id(helper) not in _REGISTERED:
            register_jitable(inline="always")(helper)
            _REGISTERED.add(id(helper))


class compiled:  # noqa: N801 - used as a decorator
    """A numba kernel compiled (or loaded from numba's on-disk cache) at its first call, so a
    process that never runs one — the web server, a merge without engagement fits — never
    loads the compiler."""

    def __init__(self, function: _Kernel) -> None:
        self._function = function
        self._kernel: _Kernel | None = None

    def __call__(self, *args: Any) -> Any:
        if self._kernel is None:
            import numba

            _register_helpers()
            try:
                self._kernel = numba.njit(cache=True, nogil=True)(self._function)
            except RuntimeError:  # no writable cache folder: compile for this process only
                self._kernel = numba.njit(cache=False, nogil=True)(self._function)
        return self._kernel(*args)
