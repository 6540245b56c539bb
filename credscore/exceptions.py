"""Exceptions and warnings raised by credscore."""

from __future__ import annotations

__all__ = ["ClaimError", "GridResolutionWarning", "ConvergenceWarning"]


class ClaimError(ValueError):
    """Invalid claim input.

    Raised once, at the boundary where claims enter credscore, with a message
    that names the record (row) and the field at fault, for example
    ``"row 3, field `value`: must be finite, got nan."``.

    Parameters
    ----------
    message : str
        The description of the problem.
    row : int or None
        Position of the offending input: the zero-based index of a record or
        DataFrame row, or the line number in a CSV file (header = line 1).
    field : str or None
        Name of the offending field.
    where : str
        What ``row`` counts: ``"record"``, ``"row"`` or ``"line"``.
    """

    def __init__(self, message: str, row: int | None = None, field: str | None = None, where: str = "row"):
        self.row = row
        self.field = field
        self.where = where
        prefix = []
        if row is not None:
            prefix.append(f"{where} {row}")
        if field is not None:
            prefix.append(f"field `{field}`")
        full = f"{', '.join(prefix)}: {message}" if prefix else message
        super().__init__(full)


class GridResolutionWarning(UserWarning):
    """A posterior could not be resolved on the grid to the requested accuracy."""


class ConvergenceWarning(UserWarning):
    """An iterative fit stopped before meeting its convergence criterion."""
