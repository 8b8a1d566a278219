"""The inverse of a symmetric 3 × 3 matrix by cofactors, for the engagement fits' Hessians and
posterior precisions.

One definition serves both the compiled kernels (numba inlines it into each kernel that calls
it, under that kernel's own floating-point options) and numpy, where it runs elementwise on
arrays of matrices — the same operations in the same order either way.
"""

from __future__ import annotations

from typing import Any

from models.compiled import kernel_helper


@kernel_helper
def symmetric_cofactors(
    a00: Any, a01: Any, a02: Any, a11: Any, a12: Any, a22: Any
) -> tuple[Any, Any, Any, Any, Any, Any, Any]:
    """(c00, c01, c02, c11, c12, c22, det) of the symmetric matrix A with upper triangle
    (a00, a01, a02, a11, a12, a22): A⁻¹ = C / det, C symmetric with that upper triangle.
    A is positive definite exactly where a00 > 0, c22 > 0 and det > 0 (its leading minors)."""
    c00 = a11 * a22 - a12 * a12
    c01 = a02 * a12 - a01 * a22
    c02 = a01 * a12 - a02 * a11
    c11 = a00 * a22 - a02 * a02
    c12 = a01 * a02 - a00 * a12
    c22 = a00 * a11 - a01 * a01
    det = a00 * c00 + a01 * c01 + a02 * c02
    return c00, c01, c02, c11, c12, c22, det
