"""Malformed and hostile input gets a clear error or a safe result, never a crash."""

from __future__ import annotations

import pytest

from appliance.privacy.scrubber import MAX_CHARS, MAX_DEPTH, Scrubber, ScrubInputError


def test_huge_string_is_refused(scrubber: Scrubber) -> None:
    with pytest.raises(ScrubInputError, match="over the limit"):
        scrubber.scrub("a" * (MAX_CHARS + 1), scrubber.new_vault())


def test_large_field_is_scrubbed(scrubber: Scrubber) -> None:
    text = "user CORP\\jdoe ran x.exe; " * 4000

    out = scrubber.scrub({"actor_process_command_line": text}, scrubber.new_vault())

    assert "jdoe" not in out.data["actor_process_command_line"]


def test_deep_nesting_is_refused(scrubber: Scrubber) -> None:
    data: object = "x"
    for _ in range(MAX_DEPTH + 5):
        data = {"a": [data]}

    with pytest.raises(ScrubInputError, match="nested deeper"):
        scrubber.scrub(data, scrubber.new_vault())


def test_binary_is_refused(scrubber: Scrubber) -> None:
    with pytest.raises(ScrubInputError, match="bytes"):
        scrubber.scrub({"description": b"\x00\xff"}, scrubber.new_vault())


def test_unpaired_surrogate_is_refused(scrubber: Scrubber) -> None:
    with pytest.raises(ScrubInputError, match="surrogates"):
        scrubber.scrub("name \ud800 here", scrubber.new_vault())


@pytest.mark.parametrize(
    "text",
    [
        "\u202eMaria Garcia\u202c logged in as CORP\\jdoe",
        "\u200fuser \u200e/home/jdoe/x\u200f",
        "ｊｄｏｅ＠ｅｘａｍｐｌｅ．ｃｏｍ and 𝕁𝕠𝕙𝕟 ",
        "control \x00\x01\x1b[31m CORP\\jdoe \x7f",
        "emoji 👩‍💻 C:\\Users\\jdoe\\x and زینب‌ 10.1.1.1",
    ],
)
def test_unusual_unicode_gives_a_safe_result(scrubber: Scrubber, text: str) -> None:
    vault = scrubber.new_vault()

    out = scrubber.scrub({"description": text}, vault).data["description"]

    assert "jdoe" not in out.replace("ｊｄｏｅ", "")
    assert scrubber.restore(out, vault).count("jdoe") == text.count("jdoe")


def test_personal_data_in_keys_is_scrubbed(scrubber: Scrubber) -> None:
    out = scrubber.scrub({"jane.doe@example.com": 1}, scrubber.new_vault()).data

    assert "jane.doe@example.com" not in out


def test_non_string_keys_are_refused(scrubber: Scrubber) -> None:
    with pytest.raises(ScrubInputError):
        scrubber.scrub({1: "x"}, scrubber.new_vault())
