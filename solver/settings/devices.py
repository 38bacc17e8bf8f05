"""Which torch devices exist here, and why the others do not.

torch is imported only to look for devices: a session on the CPU is checked without it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from solver.core.errors import InputError, short

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class DeviceInfo:
    id: str  # what a session's "device" key holds: "cpu", "cuda:0", "mps"
    name: str
    memory_bytes: int | None
    available: bool
    reason: str = ""  # why it is unavailable; empty when available

    @property
    def label(self) -> str:
        mem = f", {self.memory_bytes / 2**30:.1f} GiB" if self.memory_bytes else ""
        text = f"{self.id}: {self.name}{mem}"
        return text if self.available else f"{text} (unavailable: {self.reason})"


def _cpu_memory() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _cuda_unavailable_reason() -> str:
    import torch

    if torch.version.cuda is None:
        return "torch built without CUDA"
    return "no CUDA device found (driver missing or no GPU)"


def _threads(n: int) -> str:
    return "1 thread" if n == 1 else f"{n} threads"


def list_devices() -> list[DeviceInfo]:
    """CPU, every CUDA device, and MPS; absent kinds are listed unavailable with the reason."""
    import torch

    out = [DeviceInfo("cpu", f"CPU ({_threads(torch.get_num_threads())})", _cpu_memory(), True)]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            out.append(DeviceInfo(f"cuda:{i}", props.name, props.total_memory, True))
    else:
        out.append(DeviceInfo("cuda", "CUDA", None, False, _cuda_unavailable_reason()))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append(DeviceInfo("mps", "Apple Metal (MPS)", None, True))
    else:
        built = mps is not None and mps.is_built()
        out.append(
            DeviceInfo(
                "mps",
                "Apple Metal (MPS)",
                None,
                False,
                "no Metal device on this machine" if built else "torch built without MPS",
            )
        )
    return out


_DEVICE_RE = re.compile(r"^(cpu|mps|cuda)(?::(\d+))?$")


def _parse(spec: object, field: str) -> tuple[str, str | None]:
    """(kind, index) of a well-formed device string; the CPU's index is checked here."""
    if not isinstance(spec, str):
        raise InputError(
            field, f"expected a device name such as 'cpu' or 'cuda:0', got {short(spec)}"
        )
    m = _DEVICE_RE.match(spec.strip())
    if not m:
        raise InputError(field, f"unknown device {short(spec)}; expected cpu, cuda, cuda:N or mps")
    kind, index = m.group(1), m.group(2)
    if kind == "cpu" and index not in (None, "0"):
        raise InputError(field, f"there is only one CPU device, got {short(spec)}")
    return kind, index


def check_device(spec: object, field: str = "device") -> None:
    """Raise InputError unless ``spec`` names a usable device (torch loads only if it is not
    the CPU)."""
    if _parse(spec, field)[0] != "cpu":
        resolve_device(spec, field)  # type: ignore[arg-type]


def resolve_device(spec: str, field: str = "device") -> torch.device:
    """Turn a session's device string into a usable torch.device, or say why it cannot be."""
    import torch

    kind, index = _parse(spec, field)
    if kind == "cpu":
        return torch.device("cpu")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise InputError(field, f"{spec} is unavailable: {_cuda_unavailable_reason()}")
        i = int(index or 0)
        if i >= torch.cuda.device_count():
            raise InputError(
                field, f"{spec} is unavailable: only {torch.cuda.device_count()} CUDA device(s)"
            )
        return torch.device("cuda", i)
    info = next(d for d in list_devices() if d.id == "mps")
    if not info.available:
        raise InputError(field, f"mps is unavailable: {info.reason}")
    return torch.device("mps")
