from __future__ import annotations

import logging
import socket

import pytest

from appliance.db.engine import Database
from appliance.privacy.readiness import check_scrubber
from appliance.privacy.recognizers import OFFLINE_TLD_EXTRACTOR
from appliance.privacy.scrubber import Scrubber


def test_email_check_works_with_sockets_blocked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network used")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    scrubber = Scrubber.create()

    out = scrubber.scrub("mail ann@example.co.uk", scrubber.new_vault()).data

    assert OFFLINE_TLD_EXTRACTOR("mail.example.co.uk").suffix == "co.uk"
    assert "ann@example.co.uk" not in out


def test_missing_model_falls_back_to_patterns(
    caplog: pytest.LogCaptureFixture, db: Database, settings
) -> None:
    scrubber = Scrubber.create(nlp_model="no_such_spacy_model")
    degraded = check_scrubber(
        db, type(settings)(**{**vars(settings), "scrub_nlp_model": "no_such_model"})
    )

    out = scrubber.scrub("Maria Garcia used CORP\\jdoe", scrubber.new_vault()).data

    assert not scrubber.ner_available
    assert "jdoe" not in out
    assert any(r.levelno == logging.WARNING for r in caplog.records)
    assert degraded.status == "degraded"
    assert check_scrubber(db, settings).status == "ok"
