"""Roles, from least to most privileged, and how they compare."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """What a person or connector may do.

    - ``viewer``: read incidents' AI output, the queue, approvals and metrics.
    - ``analyst``: also approve or reject suggestions and give feedback.
    - ``admin``: also change rollout phases and settings, models, accounts and keys.
    """

    VIEWER = "viewer"
    ANALYST = "analyst"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Return the role's place in the order viewer < analyst < admin."""
        return _RANK[self]

    def allows(self, needed: Role) -> bool:
        """Whether this role includes everything ``needed`` may do."""
        return self.rank >= needed.rank


_RANK = {Role.VIEWER: 0, Role.ANALYST: 1, Role.ADMIN: 2}
