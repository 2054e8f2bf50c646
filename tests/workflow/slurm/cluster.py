"""A real single-node SLURM cluster with two fake GPUs on this machine, for tests (see
/work/shared/notes/local-slurm.md). Needs root and the Debian packages
`slurmctld slurmd slurm-client munge`.

slurm.conf and gres.conf go to /etc/slurm, the default path: the slurm-jobstep executor
drops SLURM_CONF (with every SLURM_* variable but the job's identity) from the environment
of the `srun` it runs inside each job, so a config elsewhere is not found there. They are
written only if absent or written by this module, and removed again by `stop()`. Everything
else lives in one state dir (default /tmp/idscaling-slurm): the fake GPU character devices,
spool dirs, pid and log files. munged is the system one (/run/munge); it is started only if
it is not already answering, and then stopped again.

    python tests/workflow/slurm/cluster.py start|stop|status

`start()` is idempotent (it stops a previous instance first); `stop()` is safe to call any
time. Every wait is bounded.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

STATE = Path(os.environ.get("IDSCALING_SLURM_DIR", "/tmp/idscaling-slurm"))
CONF = Path("/etc/slurm/slurm.conf")
GRES = CONF.parent / "gres.conf"
MARK = "# written by tests/workflow/slurm/cluster.py (removed by its stop())\n"
MUNGE_PID = Path("/run/munge/munged.pid")
BINARIES = ("munged", "munge", "unmunge", "slurmctld", "slurmd", "sinfo", "sbatch", "squeue", "scontrol", "scancel")
MIN_JOB_AGE = 600  # completed jobs stay visible to squeue/scontrol this long (>= 3 x status init)


class ClusterError(RuntimeError):
    pass


def env() -> dict[str, str]:
    """The environment for SLURM clients (and the snakemake that calls them)."""
    return os.environ | {"SLURM_CONF": str(CONF)}


def unavailable() -> str | None:
    """Why a cluster cannot be started here, or None."""
    if os.geteuid() != 0:
        return "the local SLURM cluster needs root (munged, slurmctld, slurmd, mknod)"
    missing = [b for b in BINARIES if not shutil.which(b, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")]
    if missing:
        return (
            "SLURM/munge not installed (missing: " + ", ".join(missing) + "); install with "
            "apt-get install --no-install-recommends slurmctld slurmd slurm-client munge (.ci/run does)"
        )
    for path in (CONF, GRES):
        if path.exists() and not path.read_text(errors="replace").startswith(MARK):
            return f"{path} exists and was not written by tests/workflow/slurm/cluster.py: not overwriting it"
    return None


def _which(name: str) -> str:
    return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") or name


def _run(*cmd, timeout=10, check=False, **kw) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            [_which(cmd[0]), *cmd[1:]], capture_output=True, text=True, timeout=timeout, env=env(), check=check, **kw
        )
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(cmd, 124, e.stdout or "", f"timed out after {timeout}s")


def _mem_mb() -> int:
    with open("/proc/meminfo") as fh:
        total_kb = int(next(line for line in fh if line.startswith("MemTotal:")).split()[1])
    return max(1024, int(total_kb / 1024 * 0.9))


def write_config(cpus: int | None = None, n_gpus: int = 2) -> None:
    cpus = cpus or os.cpu_count() or 1
    for sub in ("ctld", "spool", "fakegpu"):
        (STATE / sub).mkdir(parents=True, exist_ok=True)
    for i in range(n_gpus):  # slurmd insists on character devices (a plain file is rejected)
        dev = STATE / "fakegpu" / f"gpu{i}"
        if not dev.is_char_device():
            dev.unlink(missing_ok=True)
            os.mknod(dev, 0o666 | 0o020000, os.makedev(1, 3))  # like /dev/null
    CONF.parent.mkdir(parents=True, exist_ok=True)
    CONF.write_text(
        MARK
        + f"""\
ClusterName=idscaling-test
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=512
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge={MIN_JOB_AGE}
ReturnToService=2
GresTypes=gpu
StateSaveLocation={STATE}/ctld
SlurmdSpoolDir={STATE}/spool
SlurmctldPidFile={STATE}/slurmctld.pid
SlurmdPidFile={STATE}/slurmd.pid
SlurmctldLogFile={STATE}/slurmctld.log
SlurmdLogFile={STATE}/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={_mem_mb()} Gres=gpu:fake:{n_gpus} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=localhost MaxTime=INFINITE State=UP
"""
    )
    last = n_gpus - 1
    GRES.write_text(
        MARK + f"AutoDetect=off\nNodeName=localhost Name=gpu Type=fake File={STATE}/fakegpu/gpu[0-{last}]\n"
    )


def _munge_ok() -> bool:
    try:
        cred = subprocess.run([_which("munge"), "-n"], capture_output=True, timeout=5)
        if cred.returncode != 0:
            return False
        return subprocess.run([_which("unmunge")], input=cred.stdout, capture_output=True, timeout=5).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _wait(pred, timeout: float, what: str, interval: float = 0.3) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(interval)
    raise ClusterError(f"{what} not ready within {timeout:.0f}s\n{logs()}")


def _start_munge(timeout: float) -> None:
    if _munge_ok():
        return
    key = Path("/etc/munge/munge.key")
    if not key.exists():
        subprocess.run([_which("mungekey"), "-c", "-f", "-k", str(key)], check=True, timeout=30)
    for d in (key.parent, Path("/run/munge"), Path("/var/lib/munge"), Path("/var/log/munge")):
        d.mkdir(parents=True, exist_ok=True)
        shutil.chown(d, "munge", "munge")
    shutil.chown(key, "munge", "munge")
    key.chmod(0o400)
    subprocess.run(["runuser", "-u", "munge", "--", _which("munged")], check=True, timeout=30, capture_output=True)
    (STATE / "munged.ours").write_text("started by tests/workflow/slurm/cluster.py\n")
    _wait(_munge_ok, timeout, "munged")


def _node_state() -> str:
    """'idle', 'mix', 'down*', ... of the one node (sinfo -N prints it once per partition)."""
    proc = _run("sinfo", "-h", "-N", "-o", "%t", timeout=5)
    states = set(proc.stdout.split()) if proc.returncode == 0 else set()
    return states.pop() if len(states) == 1 else " ".join(sorted(states))


def start(timeout: float = 30) -> dict[str, str]:
    """Start munged (if needed), slurmctld and slurmd; wait until the node is idle; return env()."""
    reason = unavailable()
    if reason:
        raise ClusterError(reason)
    stop()
    try:
        STATE.mkdir(parents=True, exist_ok=True)
        write_config()
        _start_munge(timeout)
        for cmd in (["slurmctld", "-c"], ["slurmd", "-N", "localhost"]):  # -c: no jobs from an earlier run
            proc = _run(*cmd, "-f", str(CONF), timeout=30)
            if proc.returncode != 0:
                raise ClusterError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}\n{logs()}")
        _wait(lambda: _node_state() == "idle", timeout, "SLURM node 'localhost' (sinfo state idle)", interval=0.5)
    except BaseException:
        stop()
        raise
    return env()


def _pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if _alive(pid) else None


def _alive(pid: int) -> bool:
    """Running and not a zombie (pid 1 here may be slow to reap the daemons it inherits)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _kill(pidfile: Path, timeout: float = 10) -> None:
    pid = _pid(pidfile)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid(pidfile) == pid:
        time.sleep(0.2)
    if _pid(pidfile) == pid:
        os.kill(pid, signal.SIGKILL)


def stop() -> None:
    """Cancel every job, stop the daemons this module started, remove the state dir."""
    if CONF.exists() and _pid(STATE / "slurmctld.pid"):
        _run("scancel", "--user=root", timeout=10)
        deadline = time.monotonic() + 20  # let slurmd end the jobs' processes
        while time.monotonic() < deadline:
            q = _run("squeue", "-h", "-t", "PENDING,RUNNING,SUSPENDED,COMPLETING", "-o", "%i", timeout=5)
            if q.returncode != 0 or not q.stdout.strip():
                break
            time.sleep(0.5)
    _kill(STATE / "slurmd.pid")
    _kill(STATE / "slurmctld.pid")
    if (STATE / "munged.ours").exists():
        _kill(MUNGE_PID)
    for path in (CONF, GRES):
        if path.exists() and path.read_text(errors="replace").startswith(MARK):
            path.unlink()
    if STATE.exists():
        shutil.rmtree(STATE, ignore_errors=True)


def logs(n: int = 15) -> str:
    out = []
    for name in ("slurmctld.log", "slurmd.log"):
        path = STATE / name
        if path.exists():
            lines = path.read_text(errors="replace").splitlines()[-n:]
            out.append(f"--- {path} (last {len(lines)} lines)\n" + "\n".join(lines))
    return "\n".join(out)


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "status"
    if cmd == "start":
        start()
        print(f"SLURM up; export SLURM_CONF={CONF}")
    elif cmd == "stop":
        stop()
        print("SLURM stopped")
    elif cmd == "status":
        print(unavailable() or f"node: {_node_state() or 'down'} (SLURM_CONF={CONF})")
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
