"""The CPU backend: llama.cpp through llama-cpp-python, on GGUF models.

The chat template comes from the GGUF file itself. JSON output is constrained by a
grammar built from the schema. The prompt's length is checked against the context
window before anything runs. Consecutive calls that share a prefix (the fixed system
prompt of a task) reuse the key/value cache of that prefix instead of evaluating it
again. A stopping callback enforces the per-call deadline and :meth:`cancel`; a call
stuck inside llama.cpp, where that callback never runs, is abandoned at the deadline.

Each call runs on a short-lived thread of its own. llama.cpp parallelises every token
with OpenMP, which keeps a pool of worker threads per calling thread and cuts its
spin-waits short once its threads outnumber the CPUs: a graph run from a long-lived
thread (the main one, say) leaves a pool behind that slows every later call by about a
quarter. So nothing in the appliance runs the model outside ``_watched``.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from appliance.config import Settings
from appliance.errors import ApplianceError
from appliance.llm import store
from appliance.llm.backend import (
    Availability,
    Backend,
    Completion,
    Options,
    check_options,
)
from appliance.llm.calls import schema_sha256
from appliance.llm.errors import (
    ContextTooLong,
    GenerationCancelled,
    GenerationFailed,
    GenerationTimeout,
    InvalidOutput,
    ModelError,
    NoModelLoaded,
)
from appliance.privacy.prompt import ScrubbedPrompt

if TYPE_CHECKING:
    from llama_cpp import Llama, LlamaGrammar
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from appliance.llm.manifests import Manifest

logger = logging.getLogger(__name__)

# How long past its deadline a call stuck inside llama.cpp (no token, so the stopping
# callback never runs) is waited for before it is abandoned.
STUCK_GRACE_SECONDS = 2.0
# A fixed text with no incident data in it, so it needs no scrubbing.
HEALTH_MESSAGES = [{"role": "user", "content": "Reply with the word OK."}]


class LlamaCppOptions(Options):
    """Options of the llama.cpp backend."""

    repeat_penalty: float = Field(default=1.1, ge=0.0, le=2.0)
    top_k: int = Field(default=40, ge=0)
    min_p: float = Field(default=0.05, ge=0.0, le=1.0)


class LlamaCppBackend(Backend):
    """Serve a GGUF model on the CPU with llama.cpp."""

    name: ClassVar[str] = "llama_cpp"
    options_model: ClassVar[type[Options]] = LlamaCppOptions

    def __init__(
        self,
        settings: Settings,
        *,
        prefix_reuse: bool = True,
        n_ctx: int | None = None,
    ) -> None:
        super().__init__(settings)
        self.prefix_reuse = prefix_reuse
        self._n_ctx = n_ctx
        self._llm: Llama | None = None
        self._formatter: Jinja2ChatFormatter | None = None
        self._grammars: dict[str, LlamaGrammar] = {}
        # One llama.cpp context answers one call at a time.
        self._lock = threading.Lock()

    def is_available(self) -> Availability:
        """Say whether llama-cpp-python is installed."""
        if importlib.util.find_spec("llama_cpp") is None:
            return Availability(False, "llama-cpp-python is not installed")

        return Availability(True)

    @property
    def n_ctx(self) -> int:
        """Return the context window of the loaded model, in tokens."""
        return self._loaded().n_ctx()

    @property
    def threads(self) -> int:
        """Return the CPU threads llama.cpp uses (``llm_threads``; 0 means all)."""
        return self.settings.llm_threads or os.cpu_count() or 1

    def load(self, manifest: Manifest) -> None:
        """Verify the GGUF file, then load it with its own chat template."""
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        path = manifest.resolve_path(self.settings)
        store.verify(manifest, path)
        n_ctx = self._n_ctx or int(
            manifest.settings.get("n_ctx", min(manifest.context_length, 4096))
        )
        try:
            llm = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=self.threads,
                n_threads_batch=self.threads,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(
                f"llama.cpp could not load {manifest.name}: {exc}"
            ) from exc
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            llm.close()
            raise ModelError(f"model {manifest.name} has no chat template in its GGUF")
        eos, bos = llm.token_eos(), llm.token_bos()
        self._formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
            bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
            stop_token_ids=[eos] if eos != -1 else None,
        )
        self._llm = llm
        self.manifest = manifest
        logger.info(
            "model loaded",
            extra={"backend": self.name, "model": manifest.name, "n_ctx": n_ctx},
        )

    def _loaded(self) -> Llama:
        """Return the loaded model or fail clearly."""
        if self._llm is None:
            raise NoModelLoaded("the llama.cpp backend has no model loaded")
        return self._llm

    def health(self) -> Availability:
        """Run a one-word prompt through the model."""
        try:
            self._complete(
                HEALTH_MESSAGES, None, LlamaCppOptions(max_tokens=4, temperature=0.0)
            )
        except Exception as exc:
            return Availability(False, f"{type(exc).__name__}: {exc}")

        return Availability(True)

    def generate(
        self,
        prompt: ScrubbedPrompt,
        *,
        schema: dict[str, Any] | None = None,
        options: Options | None = None,
    ) -> Completion:
        """Answer a scrubbed prompt, constrained to the JSON schema when given."""
        if not isinstance(prompt, ScrubbedPrompt):
            raise TypeError("backends accept only a ScrubbedPrompt")

        return self._complete(
            prompt.as_openai(), schema, check_options(type(self), options)
        )

    def tokenize_prompt(self, messages: list[dict[str, Any]]) -> list[int]:
        """Render messages with the model's chat template and return the tokens."""
        llm = self._loaded()
        assert self._formatter is not None
        rendered = self._formatter(messages=messages)  # type: ignore[arg-type]

        return llm.tokenize(
            rendered.prompt.encode("utf-8"),
            add_bos=not rendered.added_special,
            special=True,
        )

    def _grammar(self, schema: dict[str, Any]) -> LlamaGrammar:
        """Return the grammar of a JSON schema, built once per schema."""
        from llama_cpp import LlamaGrammar

        key = schema_sha256(schema) or ""
        if key not in self._grammars:
            self._grammars[key] = LlamaGrammar.from_json_schema(
                json.dumps(schema), verbose=False
            )
        return self._grammars[key]

    def _complete(
        self,
        messages: list[dict[str, Any]],
        schema: dict[str, Any] | None,
        options: Options,
    ) -> Completion:
        """Run one call under the lock, the deadline and the cancel event."""
        from llama_cpp import StoppingCriteriaList

        assert isinstance(options, LlamaCppOptions)
        started = time.perf_counter()
        deadline = started + self.deadline_seconds(options)
        llm = self._loaded()
        tokens = self.tokenize_prompt(messages)
        if len(tokens) + options.max_tokens > llm.n_ctx():
            raise ContextTooLong(
                f"the prompt has {len(tokens)} tokens and up to {options.max_tokens} "
                f"may be generated, but the context window holds {llm.n_ctx()}"
            )
        grammar = self._grammar(schema) if schema is not None else None
        cancel = self._open_call()
        stopped: list[str] = []
        first_token_at: list[float] = []

        def should_stop(_ids: Any, _logits: Any) -> bool:
            if not first_token_at:
                first_token_at.append(time.perf_counter())
            if cancel.is_set():
                stopped.append("cancelled")
            elif time.perf_counter() > deadline:
                stopped.append("timeout")
            return bool(stopped)

        try:
            if not self._lock.acquire(timeout=max(deadline - time.perf_counter(), 0)):
                raise GenerationTimeout("the model stayed busy past the deadline")
            reused: list[int] = []

            def complete() -> Any:
                reused.append(self._reusable_prefix(llm, tokens))
                return llm.create_completion(
                    prompt=tokens,
                    max_tokens=options.max_tokens,
                    temperature=options.temperature,
                    top_p=options.top_p,
                    top_k=options.top_k,
                    min_p=options.min_p,
                    repeat_penalty=options.repeat_penalty,
                    seed=options.seed,
                    grammar=grammar,
                    stopping_criteria=StoppingCriteriaList([should_stop]),
                )

            result = self._watched(deadline, cancel, complete)
            cached = reused[0]
        finally:
            self._close_call(cancel)
        if stopped and stopped[0] == "cancelled":
            raise GenerationCancelled("the call was cancelled")
        if stopped:
            raise GenerationTimeout(
                f"the call ran past its {self.deadline_seconds(options):g} s deadline"
            )
        choice = result["choices"][0]
        completion = Completion(
            text=choice["text"],
            prompt_tokens=result["usage"]["prompt_tokens"],
            completion_tokens=result["usage"]["completion_tokens"],
            cached_prompt_tokens=cached,
            time_to_first_token_s=(
                first_token_at[0] - started if first_token_at else None
            ),
            duration_s=time.perf_counter() - started,
            finish_reason=choice["finish_reason"] or "stop",
        )
        if schema is not None:
            completion.parsed = parse_json(completion)

        return completion

    def _watched(
        self, deadline: float, cancel: threading.Event, call: Callable[[], Any]
    ) -> Any:
        """Run ``call`` (which holds the model lock) in a thread, up to the deadline.

        The deadline is also checked between tokens; this catches a call stuck inside
        llama.cpp where no token ever comes. Such a call cannot be killed in-process:
        it is abandoned, keeps the lock until it returns (later calls wait up to their
        own deadlines), and stops at its next token if it ever makes one.

        Raises:
            GenerationTimeout: the call had not returned by the deadline and a grace.
            GenerationFailed: llama.cpp raised an error of its own.
        """
        done = threading.Event()
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["result"] = call()
            except BaseException as exc:  # handed to the caller below
                outcome["error"] = exc
            finally:
                self._lock.release()
                done.set()

        threading.Thread(target=run, name="llama.cpp call", daemon=True).start()
        if not done.wait(max(deadline - time.perf_counter(), 0) + STUCK_GRACE_SECONDS):
            cancel.set()
            logger.error(
                "llama.cpp call stuck past its deadline; abandoned",
                extra={"grace_seconds": STUCK_GRACE_SECONDS},
            )
            raise GenerationTimeout(
                "llama.cpp did not return by the deadline; the call was abandoned"
            )
        if "error" in outcome:
            error = outcome["error"]
            if isinstance(error, ApplianceError):
                raise error
            raise GenerationFailed(f"{type(error).__name__}: {error}") from error

        return outcome["result"]

    def _reusable_prefix(self, llm: Llama, tokens: list[int]) -> int:
        """Return how many prompt tokens the cache holds; forget them if not reused."""
        if not self.prefix_reuse:
            llm.reset()
            return 0
        held = llm.input_ids[: llm.n_tokens].tolist()
        same = 0
        for a, b in zip(held, tokens, strict=False):
            if a != b:
                break
            same += 1

        # llama.cpp evaluates at least the last prompt token again for fresh logits.
        return min(same, len(tokens) - 1)

    def unload(self) -> None:
        """Free the model."""
        with self._lock:
            if self._llm is not None:
                self._llm.close()
            self._llm = None
            self._grammars.clear()

    def describe(self) -> dict[str, Any]:
        """Return what the worker reports about this backend."""
        info = super().describe()
        if self._llm is not None:
            info.update(n_ctx=self._llm.n_ctx(), threads=self.threads)
        return info


def parse_json(completion: Completion) -> Any:
    """Parse a completion's text as JSON, with a clear error when it is cut short."""
    try:
        # strict=False: a grammar may let a raw newline into a string.
        return json.loads(completion.text, strict=False)
    except json.JSONDecodeError as exc:
        reason = (
            "the output reached max_tokens before the JSON was complete"
            if completion.finish_reason == "length"
            else f"the output is not valid JSON ({exc.msg})"
        )
        raise InvalidOutput(reason) from exc
