"""Memory readings shared by the benchmarks (Linux /proc; NaN elsewhere)."""

from __future__ import annotations


def _status(field: str) -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def rss_mb() -> float:
    """Resident memory now, MB."""
    return _status("VmRSS")


def peak_mb() -> float:
    """Peak resident memory (VmHWM) since the process started or since :func:`reset_peak`."""
    return _status("VmHWM")


def reset_peak() -> None:
    """Reset the kernel's high-water mark so the next :func:`peak_mb` measures one step alone."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass
