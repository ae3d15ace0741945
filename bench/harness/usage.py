"""What processes and the machine used, from ``/proc``: CPU seconds, memory, open files.

CPU figures are read before and after a pass and subtracted; on a shared machine a
process's own CPU time is a steadier measure than wall time.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

# Fields of /proc/<pid>/stat after the command: state(0) ppid(1) pgrp(2) ... utime(11)
# stime(12) cutime(13) cstime(14).
OWN = (11, 12)
REAPED = (13, 14)


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def _seconds(fields: list[str], columns: Sequence[int]) -> float:
    return sum(int(fields[c]) for c in columns) / os.sysconf("SC_CLK_TCK")


def _processes() -> list[tuple[int, list[str]]]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                found.append((int(entry.name), fields))
    return found


def cpu_seconds(pid: int, *, reaped: bool = False) -> float | None:
    """CPU seconds of a process so far (with ``reaped``, also of its exited children);
    None once it is gone."""
    fields = _stat(pid)
    return None if fields is None else _seconds(fields, OWN + REAPED if reaped else OWN)


def pids_cpu(pids: Sequence[int]) -> float:
    """CPU seconds of these processes so far (one that is gone counts nothing)."""
    return sum(cpu_seconds(pid) or 0.0 for pid in pids)


def group_cpu(pgid: int) -> float:
    """CPU seconds of the live processes of a process group."""
    return sum(_seconds(f, OWN) for _pid, f in _processes() if int(f[2]) == pgid)


def process_tree(root: int) -> list[int]:
    """``root`` and every process descending from it (a server's workers, a postmaster's
    backends)."""
    children: dict[int, list[int]] = {}
    for pid, fields in _processes():
        children.setdefault(int(fields[1]), []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def tree_cpu(root: int) -> float:
    """CPU of ``root`` and its live descendants, plus what its exited children used: a
    postmaster's backends and parallel workers come and go, and a sum over the live ones
    alone would shrink when one exits."""
    total = cpu_seconds(root, reaped=True) or 0.0
    return total + pids_cpu(process_tree(root)[1:])


def machine_busy() -> float:
    """CPU seconds all cores have spent busy since boot (``/proc/stat``, idle and iowait out)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(value) for value in fields[:8]]
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def rss_and_fds(pids: Sequence[int]) -> tuple[int, int]:
    """Summed VmRSS (KB) and open file descriptors of these processes."""
    rss = fds = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
            fds += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            continue  # exited between listing and reading
    return rss, fds


@dataclass
class PassCpu:
    """CPU seconds a pass cost the server's process group, PostgreSQL and the whole machine."""

    server: float = 0.0
    postgres: float = 0.0
    machine: float = 0.0

    def others(self, loadgen: float, wall: float) -> float:
        """Cores everything else kept busy meanwhile: the noise in the pass's figures."""
        return (
            max(0.0, self.machine - self.server - self.postgres - loadgen) / wall if wall else 0.0
        )


@contextlib.contextmanager
def pass_cpu(server_group: int, postmaster: int) -> Iterator[PassCpu]:
    """The CPU of the server, PostgreSQL and the machine during the block."""
    before = (group_cpu(server_group), tree_cpu(postmaster), machine_busy())
    spent = PassCpu()
    yield spent
    spent.server = group_cpu(server_group) - before[0]
    spent.postgres = tree_cpu(postmaster) - before[1]
    spent.machine = machine_busy() - before[2]
