#!/usr/bin/env bash
# The one script a session runs when a GPU is lent (issue 17): everything the project has to
# measure or check on CUDA, in one call, each part under its own time limit, every result under OUT.
#
#   bash bench/gpu_check.sh OUT                  # on the GPU machine (about 8 minutes on an H200)
#   bash bench/gpu_check.sh --cpu OUT            # the rehearsal on CPU, small sizes (<= 15 min, 2 cores)
#   bash bench/gpu_check.sh --cpu --parts env,id_speed OUT   # some parts only (the test runs the fast ones)
#
# Parts (in this order): env (machine, torch, CUDA), tests (the CUDA-aware tests: training, inference,
# neighbour search), dag (a small DAG end to end on CUDA and the same DAG on the CPU, losses side by
# side), gpu_speed (bench/gpu_speed.py, GPT-2 small and the 384-wide shape, eager and compiled, bf16,
# MFU against the peak measured in the same run), id_speed (bench/id_speed.py, 1,000,000 x 768,
# torch on the GPU against the CPU path), compile_cache (a second job of one shape compiles from the
# shared cache), train_speed (bench/train_speed.py against the nanoGPT-architecture reference).
#
# OUT gets summary.md (one line per part: ok / FAILED / skipped, seconds, the numbers) and
# results.tar.gz (every part's log, JSON and CSV, the DAG's figures and summary tables): two files,
# within what the device tool brings back. Python: $PYTHON, else .venv/bin/python, else python3.
# Wheels carried in .whl/ (bench/gpu_wheels.sh makes them) are installed first into /tmp/site.
set -u -o pipefail

MODE=cuda
PARTS=env,tests,dag,gpu_speed,id_speed,compile_cache,train_speed
while [ $# -gt 1 ]; do
  case "$1" in
    --cpu) MODE=cpu; shift ;;
    --parts) PARTS="$2"; shift 2 ;;
    *) echo "unknown option $1 (usage: bash bench/gpu_check.sh [--cpu] [--parts a,b] OUT)" >&2; exit 2 ;;
  esac
done
[ $# -eq 1 ] || { echo "usage: bash bench/gpu_check.sh [--cpu] [--parts a,b] OUT" >&2; exit 2; }
OUT=$(mkdir -p "$1" && cd "$1" && pwd)
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
mkdir -p "$WORK/parts"

if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
PY=${PYTHON:-}
[ -n "$PY" ] || { [ -x .venv/bin/python ] && PY=.venv/bin/python; } || PY=python3
export PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
SNAKEMAKE="$PY -m snakemake"
CORES=$(nproc)

echo "# gpu_check ($MODE mode), $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')" > "$OUT/summary.md"
echo "" >> "$OUT/summary.md"
echo "| part | status | seconds | result |" >> "$OUT/summary.md"
echo "|---|---|---:|---|" >> "$OUT/summary.md"

# run_part NAME LIMIT_SECONDS COMMAND...: the command's output to parts/NAME.log; its last line
# starting "RESULT:" (if any) goes into the summary
run_part() {
  local name=$1 limit=$2; shift 2
  case ",$PARTS," in *",$name,"*) ;; *) echo "| $name | skipped | | |" >> "$OUT/summary.md"; return ;; esac
  local log="$WORK/parts/$name.log" start=$SECONDS status=ok
  echo "== $name (limit ${limit}s)"
  timeout --kill-after=10 "$limit" "$@" > "$log" 2>&1 || status="FAILED (rc $?)"
  local result
  result=$(grep '^RESULT:' "$log" | tail -1 | sed 's/^RESULT: *//')
  [ "$status" = ok ] || result="$result $(tail -1 "$log" | cut -c1-200)"
  echo "| $name | $status | $((SECONDS - start)) | ${result//|//} |" >> "$OUT/summary.md"
  echo "   $status in $((SECONDS - start)) s: $result"
}

part_env() {
  nvidia-smi 2>&1 | head -15 || true
  "$PY" - <<'EOF'
import platform, torch
cuda = torch.cuda.is_available()
name = torch.cuda.get_device_name(0) if cuda else platform.processor() or platform.machine()
print(f"python {platform.python_version()}, torch {torch.__version__}, cuda {torch.version.cuda}, device: {name}")
print(f"RESULT: torch {torch.__version__}, {'CUDA ' + name if cuda else 'no CUDA device'}")
EOF
}

part_tests() {
  local tests="tests/lm/test_model.py tests/id/test_knn.py"
  [ "$MODE" = cuda ] && tests="tests/lm tests/id/test_knn.py tests/id/test_batching.py"
  # shellcheck disable=SC2086
  "$PY" -m pytest -q -p no:cacheprovider -x $tests 2>&1 | tee /dev/stderr | tail -1 | sed 's/^/RESULT: /'
}

part_dag() {
  # the same small DAG twice, in two working directories (the device is an execution setting:
  # in one directory the second run would rerun nothing), then its losses side by side
  local devices="cuda cpu"
  [ "$MODE" = cpu ] && devices="cpu cpu2"
  for dev in $devices; do
    "$PY" - "$WORK/dag_$dev.yaml" "${dev%2}" "$MODE" <<'EOF'
import sys, yaml
out, device, mode = sys.argv[1:]
cfg = yaml.safe_load(open("bench/gpu_check.yaml"))
cfg["train"]["device"] = device
if mode == "cpu":  # the rehearsal: the same DAG, smaller
    cfg["datasets"]["code"]["n_tokens"] = [12500, 25000]
    cfg["train"]["max_steps"] = 200
yaml.safe_dump(cfg, open(out, "w"))
EOF
    $SNAKEMAKE --cores "$CORES" --configfile "$WORK/dag_$dev.yaml" --directory "$WORK/dag_$dev" --quiet rules || return 1
  done
  set -- $devices
  "$PY" bench/gpu_check_losses.py "$WORK/dag_$1" "$WORK/dag_$2" --out "$WORK/parts/dag_losses.csv"
}

part_gpu_speed() {
  if [ "$MODE" = cuda ]; then
    "$PY" bench/gpu_speed.py --device cuda --shape both --compile --json "$WORK/parts/gpu_speed.json"
  else
    "$PY" bench/gpu_speed.py --device cpu --shape small --batch-size 1 --steps 1 --warmup 0 --eval-batches 1 \
      --threads "$CORES" --json "$WORK/parts/gpu_speed.json"
  fi
  "$PY" -c "
import json; r = json.load(open('$WORK/parts/gpu_speed.json'))
print('RESULT:', json.dumps(r)[:300])"
}

part_id_speed() {
  if [ "$MODE" = cuda ]; then
    "$PY" bench/id_speed.py --n 1000000 --dim 768 --metrics cosine --knn torch,blas --skip-skdim
  else
    "$PY" bench/id_speed.py --n 20000 --dim 128 --metrics cosine --knn torch,blas --skip-skdim
  fi | tee /dev/stderr | grep -iE "torch|blas" | tail -2 | tr '\n' ' ' | sed 's/^/RESULT: /'
}

part_compile_cache() {
  "$PY" -m pytest -q -s -p no:cacheprovider "tests/lm/test_compile_cache.py::test_a_second_job_of_the_same_shape_compiles_in_a_fraction_of_the_time" \
    2>&1 | tee /dev/stderr | grep "first step" | sed 's/^/RESULT: /'
}

part_train_speed() {
  if [ "$MODE" = cuda ]; then
    "$PY" bench/train_speed.py --device cuda --compile --batch-size 16 --rounds 5 --shapes 6x384:8192:256 12x768:50257:1024
  else
    "$PY" bench/train_speed.py --shapes 2x64:1024:256 --rounds 3 --steps 2 --warmup 1
  fi | tee /dev/stderr | tail -1 | sed 's/^/RESULT: /'
}

big=1
[ "$MODE" = cpu ] && big=2  # the rehearsal's limits: slower machine, smaller sizes
run_part env 60 part_env
run_part tests $((180 * big)) part_tests
run_part dag $((200 * big)) part_dag
run_part gpu_speed $((120 * big)) part_gpu_speed
run_part id_speed 90 part_id_speed
run_part compile_cache 120 part_compile_cache
run_part train_speed 90 part_train_speed

# the DAGs' figures and summary tables beside the logs, in one archive
for d in "$WORK"/dag_*/; do
  [ -d "$d/results" ] || continue
  mkdir -p "$WORK/parts/$(basename "$d")"
  cp -r "$d/results/summary" "$d/results/figures" "$WORK/parts/$(basename "$d")/" 2>/dev/null || true
done
tar -czf "$OUT/results.tar.gz" -C "$WORK" parts
echo "" >> "$OUT/summary.md"
echo "Logs, JSON, CSV, figures: results.tar.gz (parts/)." >> "$OUT/summary.md"
cat "$OUT/summary.md"
grep -q "| FAILED" "$OUT/summary.md" && exit 1
exit 0
