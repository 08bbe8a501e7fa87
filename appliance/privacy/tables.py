"""Tables of the privacy domain: the encrypted pseudonym vaults."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from appliance.db.base import Base, TimestampMixin


class PseudonymVaultRecord(TimestampMixin, Base):
    """One incident's pseudonym vault, encrypted; deleted when it expires."""

    __tablename__ = "pseudonym_vault"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(100))
    incident_id: Mapped[str] = mapped_column(String(100), unique=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
