#!/bin/bash
# GPU lease, call 1 of 2 (see lease_run.sh): keep the first half of the
# embedded GGUF and install the wheels the device image lacks. Carried:
# .carry/a = {gguf.part1, whl/*.whl}. The device's own python3 has torch,
# transformers and peft; nothing else is installed there.
set -eu
mkdir -p /tmp/ta
cp .carry/a/gguf.part1 /tmp/ta/
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .carry/a/whl/*.whl
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
PYTHONPATH=/tmp/site:$PWD python3 -c "import torch, transformers, peft, gguf, tuneahead_lint.cli; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__, 'gguf ok', torch.cuda.is_available())"
nproc; free -g | head -2
