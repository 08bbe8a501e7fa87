r"""Recognizers for the personal data that Cortex XDR alerts carry.

Presidio's defaults miss what SOC data holds (``CORP\\jdoe``, ``C:\\Users\\jdoe``,
passwords on command lines) and misread what it does not (a file name as a URL,
``T1059`` as a driver's licence). The recognizers here cover the first; the second
is handled by not loading the recognizers that misfire (see :mod:`.analyzer`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import tldextract
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

# Offline public-suffix list: the snapshot bundled with tldextract, no cache
# directory and no URLs, so an air-gapped box never waits on DNS or HTTP.
OFFLINE_TLD_EXTRACTOR = tldextract.TLDExtract(
    cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True
)


@dataclass(frozen=True)
class GroupPattern:
    """A regular expression whose named group ``value`` is the entity."""

    entity_type: str
    regex: re.Pattern[str]
    score: float = 0.8


class GroupPatternRecognizer(EntityRecognizer):
    r"""Find entities with regular expressions, reporting only the ``value`` group.

    Presidio's ``PatternRecognizer`` reports the whole match; here the context that
    identifies the entity (``--password=``, ``C:\\Users\\``) stays out of the span.
    """

    def __init__(self, name: str, patterns: Iterable[GroupPattern]) -> None:
        self.patterns = list(patterns)
        entities = sorted({p.entity_type for p in self.patterns})
        super().__init__(supported_entities=entities, name=name)

    def load(self) -> None:
        """Load nothing: the patterns are compiled already."""

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
    ) -> list[RecognizerResult]:
        """Return the ``value`` group of every match of every pattern."""
        results = []
        for pattern in self.patterns:
            if pattern.entity_type not in entities:
                continue
            for match in pattern.regex.finditer(text):
                start, end = match.span("value")
                if end > start:
                    results.append(
                        RecognizerResult(pattern.entity_type, start, end, pattern.score)
                    )

        return results


_PATH_CHARS = r"[^\\/:*?\"<>|\r\n\t]"

USER_PATTERNS = [
    # DOMAIN\user, not a piece of a path: nothing path-like before, no \ after.
    GroupPattern(
        "USER_NAME",
        re.compile(
            r"(?<![\\/:\w.$%-])[A-Za-z][\w.-]{0,40}\\(?P<value>[A-Za-z0-9][\w.$-]{0,63})"
            r"(?![\w\\])"
        ),
        0.7,
    ),
    # C:\Users\jdoe\..., \\server\c$\Users\jdoe, C:\Documents and Settings\jdoe
    GroupPattern(
        "USER_NAME",
        re.compile(
            r"(?i)\\(?:users|documents and settings)\\(?P<value>"
            + _PATH_CHARS
            + r"{1,64}?)(?=\\|[\"'\s;,]|$)"
        ),
        0.85,
    ),
    # /home/jdoe/..., /Users/jdoe/... (macOS)
    GroupPattern(
        "USER_NAME",
        re.compile(
            r"(?:/home|/Users|/export/home)/(?P<value>[\w.@-]{1,64})(?=/|[\"'\s;,]|$)"
        ),
        0.85,
    ),
    # --user=jdoe, --username jdoe, /user:jdoe, -UserName jdoe
    GroupPattern(
        "USER_NAME",
        re.compile(
            r"(?i)(?:--?user(?:name)?|/u(?:ser)?)(?:[=:]|\s+)[\"']?"
            r"(?P<value>[A-Za-z0-9][\w.$-]{0,63})(?![\w\\@])"
        ),
        0.7,
    ),
    # scheme://user:password@host
    GroupPattern(
        "USER_NAME",
        re.compile(r"\b[a-zA-Z][\w+.-]*://(?P<value>[^/\s:@]{1,64}):[^/\s@]{1,128}@"),
        0.8,
    ),
    # net user jdoe ... (the account being created or changed)
    GroupPattern(
        "USER_NAME",
        re.compile(
            r"(?i)\bnet1?(?:\.exe)?\s+user\s+\"?(?P<value>[A-Za-z0-9][\w.$-]{0,63})"
        ),
        0.8,
    ),
]

_SECRET_VALUE = r"(?P<value>\"[^\"\r\n]{1,200}\"|'[^'\r\n]{1,200}'|[^\s\"';&]{1,200})"

SECRET_PATTERNS = [
    # -p secret, --password=secret, /p:secret (not ssh's -p 22: see the lookahead)
    GroupPattern(
        "SECRET",
        re.compile(
            r"(?i)(?<![\w-])(?:--?(?:password|passwd|pass|pwd|pw|token|api-?key|"
            r"secret|client-secret|access-key|secret-key)|-p|/p(?:assword)?)"
            r"(?:[=:]|\s+)(?!\d{1,5}(?:\s|$))" + _SECRET_VALUE
        ),
        0.8,
    ),
    # password=..., Pwd=...; in connection strings and query strings
    GroupPattern(
        "SECRET",
        re.compile(
            r"(?i)\b(?:password|passwd|pwd|pass|secret|token|api_?key|access_?key|"
            r"client_?secret|auth_?token|sharedaccesskey|accountkey)\s*[=:]\s*"
            r"(?P<value>\"[^\"\r\n]{1,200}\"|'[^'\r\n]{1,200}'|[^\s\"';&,]{1,200})"
        ),
        0.8,
    ),
    # Authorization: Bearer xyz / Basic xyz / a bare key
    GroupPattern(
        "SECRET",
        re.compile(
            r"(?i)\bauthorization\s*:\s*(?:(?:bearer|basic|token|digest|negotiate)\s+)?"
            r"(?P<value>[^\s\"']{1,400})"
        ),
        0.9,
    ),
    # scheme://user:password@host
    GroupPattern(
        "SECRET",
        re.compile(r"\b[a-zA-Z][\w+.-]*://[^/\s:@]{1,64}:(?P<value>[^/\s@]{1,128})@"),
        0.9,
    ),
    # net user jdoe Secret123 /add
    GroupPattern(
        "SECRET",
        re.compile(
            r"(?i)\bnet1?(?:\.exe)?\s+user\s+\"?[\w.$-]+\"?\s+"
            r"(?P<value>(?!/)[^\s\"]{1,128})"
        ),
        0.8,
    ),
    # Well-known token formats: AWS key ids, GitHub, Slack, JWT, OpenAI-style keys
    GroupPattern(
        "SECRET",
        re.compile(
            r"(?P<value>\b(?:AKIA|ASIA)[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{30,}\b|"
            r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b|"
            r"\beyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]{5,}|\bsk-[A-Za-z0-9_-]{20,}\b)"
        ),
        0.9,
    ),
]

# user@domain: a real e-mail when the domain has a public suffix, otherwise a user
# principal name (jdoe@corp.local) or a bare user@DOMAIN, which name a user.
_MAILBOX = re.compile(
    r"(?<![\w.+-])(?P<value>[\w.+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*)(?![\w-])"
)


class MailboxRecognizer(EntityRecognizer):
    """Find e-mail addresses and user principal names with an offline suffix list."""

    def __init__(self) -> None:
        super().__init__(
            supported_entities=["EMAIL_ADDRESS", "USER_NAME"], name="MailboxRecognizer"
        )

    def load(self) -> None:
        """Load nothing: the suffix list is bundled with tldextract."""

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
    ) -> list[RecognizerResult]:
        """Return e-mail addresses, and UPNs as user names."""
        results = []
        for match in _MAILBOX.finditer(text):
            value = match.group("value").rstrip(".")
            start = match.start("value")
            domain = value.partition("@")[2]
            public = bool(OFFLINE_TLD_EXTRACTOR(domain).suffix)
            kind = "EMAIL_ADDRESS" if public else "USER_NAME"
            if kind in entities:
                results.append(RecognizerResult(kind, start, start + len(value), 0.9))

        return results
