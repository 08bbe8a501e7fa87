"""The GPU backend: a vLLM OpenAI-compatible server, supervised or operator-run.

With ``vllm_url`` blank the appliance starts ``vllm serve`` for the model itself
(:mod:`appliance.llm.vllm_server`) and restarts it when it dies; otherwise it talks to
the servers the operator runs: one URL, or several replicas of the model, among which
calls are spread by :mod:`appliance.llm.vllm_replicas`. Output is constrained with
vLLM's structured outputs (``response_format`` with a JSON schema), prefix caching is
on, and :meth:`VllmBackend.generate_many` sends many prompts at once so the GPU
batches them.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from pydantic import Field

from appliance.config import Settings
from appliance.llm import store
from appliance.llm.backend import (
    Availability,
    Backend,
    Completion,
    Options,
    check_options,
)
from appliance.llm.errors import (
    BackendUnavailable,
    GenerationCancelled,
    GenerationTimeout,
    ModelError,
    NoModelLoaded,
)
from appliance.llm.llama_cpp_backend import HEALTH_MESSAGES, parse_json
from appliance.llm.vllm_replicas import ReplicaPool, parse_urls
from appliance.llm.vllm_server import VllmServer
from appliance.privacy.prompt import ScrubbedPrompt

if TYPE_CHECKING:
    from appliance.llm.manifests import Manifest

logger = logging.getLogger(__name__)


class VllmOptions(Options):
    """Options of the vLLM backend."""

    repetition_penalty: float = Field(default=1.0, gt=0.0, le=2.0)
    top_k: int = Field(default=-1, ge=-1, description="-1 means no top-k cut.")


def gpu_present() -> bool:
    """Say whether an NVIDIA GPU is visible (device node or nvidia-smi)."""
    return Path("/dev/nvidia0").exists() or shutil.which("nvidia-smi") is not None


class VllmBackend(Backend):
    """Serve a Hugging Face model directory with vLLM."""

    name: ClassVar[str] = "vllm"
    options_model: ClassVar[type[Options]] = VllmOptions

    def __init__(
        self,
        settings: Settings,
        *,
        allow_cpu: bool = False,
        server_args: Sequence[str] = (),
        server_env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(settings)
        self.allow_cpu = allow_cpu
        self.server_args = list(server_args)
        self.server_env = dict(server_env or {})
        self.server: VllmServer | None = None
        self._pool: ReplicaPool | None = None

    def is_available(self) -> Availability:
        """Say whether a vLLM server can be reached or started here."""
        if self.settings.vllm_url:
            return Availability(True)
        if not (self.allow_cpu or gpu_present()):
            return Availability(
                False, "no GPU found (no /dev/nvidia0 and no nvidia-smi)"
            )
        if shutil.which(self.settings.vllm_executable) is None:
            return Availability(
                False, f"vllm is not installed ({self.settings.vllm_executable!r})"
            )

        return Availability(True)

    def load(self, manifest: Manifest) -> None:
        """Verify the model directory and start (or reach) the server for it."""
        if manifest.format != "hf":
            raise ModelError(
                f"vLLM serves Hugging Face model directories; {manifest.name} is "
                f"{manifest.format}"
            )
        found = self.is_available()
        if not found.available:
            raise BackendUnavailable(found.reason)
        urls = parse_urls(self.settings.vllm_url or "")
        if not urls:
            path = manifest.resolve_path(self.settings)
            store.verify(manifest, path)
            args = [str(a) for a in manifest.settings.get("vllm_args", [])]
            self.server = VllmServer(
                self.settings.vllm_executable,
                path,
                served_name=manifest.name,
                log_path=self.settings.resolved_data_dir / "logs" / "vllm.log",
                extra_args=args + self.server_args,
                env=self.server_env,
                start_timeout_s=self.settings.vllm_start_timeout_seconds,
            )
            self.server.start()
            urls = [self.server.url]
        self._pool = ReplicaPool(urls, self._client_for)
        self.manifest = manifest

    def _client_for(self, url: str) -> httpx.Client:
        """Return the HTTP client of one server."""
        return httpx.Client(
            base_url=url,
            timeout=httpx.Timeout(self.settings.llm_timeout_seconds, connect=5.0),
            limits=httpx.Limits(max_connections=self.settings.vllm_max_concurrency),
        )

    def _loaded(self) -> ReplicaPool:
        """Return the servers of the loaded model or fail clearly."""
        if self._pool is None:
            raise NoModelLoaded("the vLLM backend has no model loaded")
        return self._pool

    def health(self) -> Availability:
        """Check every replica answers /health, and one of them a one-word prompt.

        Available while at least one replica is healthy; the reason then names the
        replicas that are not.
        """
        failing: list[str] = []
        try:
            if self.server is not None:
                self.server.ensure_running()
            pool = self._loaded()
            for replica in pool.replicas:
                try:
                    status = replica.client.get("/health", timeout=5.0).status_code
                    problem = "" if status == 200 else f"/health answered {status}"
                except httpx.TransportError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                if problem:
                    pool.mark_down(replica)
                    failing.append(f"{replica.url}: {problem}")
                else:
                    pool.mark_up(replica)
            if len(failing) == len(pool.replicas):
                return Availability(False, "; ".join(failing))
            self._complete(
                HEALTH_MESSAGES, None, VllmOptions(max_tokens=4, temperature=0.0)
            )
        except Exception as exc:
            return Availability(False, f"{type(exc).__name__}: {exc}")

        return Availability(True, "; ".join(failing))

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

    def generate_many(
        self,
        prompts: Sequence[ScrubbedPrompt],
        *,
        schema: dict[str, Any] | None = None,
        options: Options | None = None,
    ) -> list[Completion | Exception]:
        """Send the prompts concurrently so the server batches them.

        Returns one completion, or the error it raised, per prompt, in order.
        """

        def one(prompt: ScrubbedPrompt) -> Completion | Exception:
            try:
                return self.generate(prompt, schema=schema, options=options)
            except Exception as exc:
                return exc

        workers = max(1, min(len(prompts), self.settings.vllm_max_concurrency))
        with ThreadPoolExecutor(workers, thread_name_prefix="vllm") as pool:
            return list(pool.map(one, prompts))

    def _body(
        self,
        messages: list[dict[str, Any]],
        schema: dict[str, Any] | None,
        options: VllmOptions,
    ) -> dict[str, Any]:
        """Build the chat-completions request."""
        assert self.manifest is not None
        body: dict[str, Any] = {
            "model": self.manifest.name,
            "messages": messages,
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "top_p": options.top_p,
            "top_k": options.top_k,
            "repetition_penalty": options.repetition_penalty,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if options.seed is not None:
            body["seed"] = options.seed
        if schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": schema},
            }
        return body

    def _complete(
        self,
        messages: list[dict[str, Any]],
        schema: dict[str, Any] | None,
        options: Options,
    ) -> Completion:
        """Send one chat completion to the least busy replica that takes it."""
        pool = self._loaded()
        tried: set[str] = set()
        while True:
            with pool.lease(tried) as replica:
                try:
                    return self._stream(replica.client, messages, schema, options)
                except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                    # Nothing reached the server, so another replica may take it.
                    pool.mark_down(replica)
                    tried.add(replica.url)
                    if self.server is not None and not self.server.alive():
                        self.server.ensure_running()
                    if len(tried) == len(pool.replicas):
                        raise ModelError(f"vLLM connection failed: {exc}") from exc
                    logger.warning(
                        "vLLM replica unreachable; trying another",
                        extra={"replica": replica.url},
                    )

    def _stream(
        self,
        client: httpx.Client,
        messages: list[dict[str, Any]],
        schema: dict[str, Any] | None,
        options: Options,
    ) -> Completion:
        """Stream one chat completion, watching the deadline and the cancel event."""
        assert isinstance(options, VllmOptions)
        started = time.perf_counter()
        deadline = started + self.deadline_seconds(options)
        cancel = self._open_call()
        parts: list[str] = []
        usage: dict[str, Any] = {}
        finish_reason = "stop"
        first_token_at: float | None = None
        try:
            with client.stream(
                "POST",
                "/v1/chat/completions",
                json=self._body(messages, schema, options),
                timeout=httpx.Timeout(max(deadline - started, 1.0), connect=5.0),
            ) as response:
                if response.status_code != 200:
                    response.read()
                    raise ModelError(
                        f"vLLM answered {response.status_code}: {response.text[:300]}"
                    )
                for line in response.iter_lines():
                    # Leaving the loop closes the stream, which aborts the request.
                    if cancel.is_set():
                        raise GenerationCancelled("the call was cancelled")
                    if time.perf_counter() > deadline:
                        raise GenerationTimeout(
                            f"the call ran past its "
                            f"{self.deadline_seconds(options):g} s deadline"
                        )
                    if not line.startswith("data: ") or line == "data: [DONE]":
                        continue
                    chunk = json.loads(line[6:])
                    usage = chunk.get("usage") or usage
                    for choice in chunk.get("choices", []):
                        text = (choice.get("delta") or {}).get("content") or ""
                        if text and first_token_at is None:
                            first_token_at = time.perf_counter()
                        parts.append(text)
                        finish_reason = choice.get("finish_reason") or finish_reason
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise
        except httpx.TimeoutException as exc:
            raise GenerationTimeout("vLLM did not answer before the deadline") from exc
        except httpx.TransportError as exc:
            if self.server is not None and not self.server.alive():
                self.server.ensure_running()
            raise ModelError(f"vLLM connection failed: {exc}") from exc
        finally:
            self._close_call(cancel)
        details = usage.get("prompt_tokens_details") or {}
        completion = Completion(
            text="".join(parts),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            cached_prompt_tokens=int(details.get("cached_tokens") or 0),
            time_to_first_token_s=(
                first_token_at - started if first_token_at else None
            ),
            duration_s=time.perf_counter() - started,
            finish_reason=finish_reason,
        )
        if schema is not None:
            completion.parsed = parse_json(completion)

        return completion

    def unload(self) -> None:
        """Close the clients and stop the supervised server."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self.server is not None:
            self.server.stop()
            self.server = None
