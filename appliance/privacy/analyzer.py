"""The Presidio analyzers the scrubber runs, built offline from the packaged YAML.

Two engines share one recognizer registry: a pattern engine (a blank spaCy
tokenizer, fast) for structured fields, and a NER engine (spaCy ``en_core_web_sm``
loaded by installed package name, never downloaded) for free text and command lines.
When the spaCy package is missing, both are pattern engines and
:attr:`Analyzers.ner_available` is false, which ``/readyz`` reports as degraded.

Left out on purpose: Presidio's URL recognizer (it reads ``update.ps1`` as a URL),
driver's licence (``T1059``), UK NHS number (phone numbers), and the date, NRP and
location tags of NER, none of which name a person in SOC data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import spacy
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    SpacyRecognizer,
    UkNinoRecognizer,
    UsSsnRecognizer,
)

from appliance.privacy.policy import ScrubPolicy
from appliance.privacy.recognizers import (
    SECRET_PATTERNS,
    USER_PATTERNS,
    GroupPatternRecognizer,
    MailboxRecognizer,
)

logger = logging.getLogger(__name__)

LANGUAGE = "en"


@dataclass
class Analyzers:
    """The pattern engine, the NER engine, and whether NER is really there."""

    patterns: AnalyzerEngine
    ner: AnalyzerEngine
    ner_available: bool
    detail: str


def _nlp_engine(
    pipeline: spacy.language.Language, policy: ScrubPolicy
) -> SpacyNlpEngine:
    """Wrap an already loaded spaCy pipeline as a Presidio NLP engine."""
    engine = SpacyNlpEngine(
        models=[{"lang_code": LANGUAGE, "model_name": policy.nlp_model}],
        ner_model_configuration=NerModelConfiguration(
            model_to_presidio_entity_mapping=policy.nlp_entity_mapping,
            labels_to_ignore=[],
            low_score_entity_names=[],
        ),
    )
    # Set instead of load(): load() would download a missing model.
    engine.nlp = {LANGUAGE: pipeline}  # type: ignore[assignment]

    return engine


def _registry(with_ner: bool, policy: ScrubPolicy) -> RecognizerRegistry:
    """Return the recognizers for SOC data (see the module docstring)."""
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    for recognizer in [
        GroupPatternRecognizer("SocUserRecognizer", USER_PATTERNS),
        GroupPatternRecognizer("SocSecretRecognizer", SECRET_PATTERNS),
        MailboxRecognizer(),
        PhoneRecognizer(),
        CreditCardRecognizer(),
        IbanRecognizer(),
        UsSsnRecognizer(supported_entity="NATIONAL_ID"),
        UkNinoRecognizer(supported_entity="NATIONAL_ID"),
        IpRecognizer(),
    ]:
        registry.add_recognizer(recognizer)
    if with_ner:
        registry.add_recognizer(
            SpacyRecognizer(
                supported_entities=sorted(set(policy.nlp_entity_mapping.values()))
            )
        )

    return registry


def build_analyzers(policy: ScrubPolicy) -> Analyzers:
    """Build the pattern and NER engines; fall back to patterns without the model."""
    blank = _nlp_engine(spacy.blank(LANGUAGE), policy)
    patterns = AnalyzerEngine(
        nlp_engine=blank,
        registry=_registry(False, policy),
        supported_languages=[LANGUAGE],
    )
    try:
        if not policy.ner_model_installed():
            raise OSError(f"spaCy package {policy.nlp_model} is not installed")
        # The parser and lemmatizer only slow NER down; Presidio needs neither.
        pipeline = spacy.load(policy.nlp_model, exclude=["parser", "lemmatizer"])
    except (OSError, ImportError, ValueError) as exc:
        logger.warning(
            "NER model missing: scrubbing with pattern recognizers only, "
            "person names in free text will not be found",
            extra={"model": policy.nlp_model, "error": type(exc).__name__},
        )
        return Analyzers(
            patterns, patterns, False, f"spaCy package {policy.nlp_model} not loaded"
        )
    ner = AnalyzerEngine(
        nlp_engine=_nlp_engine(pipeline, policy),
        registry=_registry(True, policy),
        supported_languages=[LANGUAGE],
    )

    return Analyzers(patterns, ner, True, f"spaCy {policy.nlp_model}")
