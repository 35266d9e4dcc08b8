#!/bin/bash
# GPU lease setup call (see prepare_carry.sh): keep the GGUF parts carried in
# this call (.carry/*/gguf.part*) in /tmp/ta, install the carried wheels
# (.carry/*/whl/*.whl) the device image lacks. The device's own python3 has
# torch, transformers and peft; nothing else is installed there. Run once
# per carried folder, on the same warm machine, before the build call.
set -eu
mkdir -p /tmp/ta
for part in .carry/*/gguf.part*; do [ -f "$part" ] && cp "$part" /tmp/ta/; done
ls -la /tmp/ta
if ls .carry/*/whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .carry/*/whl/*.whl
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  PYTHONPATH=/tmp/site:$PWD python3 -c "import torch, transformers, peft, gguf, tuneahead_lint.cli; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__, 'gguf ok', torch.cuda.is_available())"
  nproc; free -g | head -2
fi
