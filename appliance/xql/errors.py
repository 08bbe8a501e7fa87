"""Errors and warnings about an XQL query, each placed at a line and column."""

from __future__ import annotations

from dataclasses import dataclass

from appliance.errors import ValidationFailed


@dataclass(frozen=True)
class Diagnostic:
    """One finding about a query: where it is, why, and how serious."""

    line: int
    column: int
    reason: str
    severity: str = "error"

    def __str__(self) -> str:
        """Return ``line L, column C: reason``."""
        return f"line {self.line}, column {self.column}: {self.reason}"

    def as_dict(self) -> dict[str, object]:
        """Return the diagnostic as JSON-ready data."""
        return {
            "line": self.line,
            "column": self.column,
            "reason": self.reason,
            "severity": self.severity,
        }


class XqlSyntaxError(ValidationFailed):
    """The query is not valid XQL; ``line`` and ``column`` say where."""

    code = "xql_invalid"

    def __init__(self, reason: str, *, line: int, column: int) -> None:
        self.diagnostic = Diagnostic(line, column, reason)
        super().__init__(str(self.diagnostic), details=self.diagnostic.as_dict())
        self.line = line
        self.column = column
        self.reason = reason
