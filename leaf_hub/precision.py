"""The precision policy: which dtype (fp32 or bf16) each stage computes in on this device.

A recipe asks for ``compute.dtype: auto | fp32 | bf16`` (default ``auto``);
:func:`resolve_precision` turns that into a :class:`Precision` for one device:

* ``auto`` picks bf16 only where the device runs it natively: a CPU for which torch reports
  AMX (``amx_bf16``) or AVX512-BF16 (``avx512_bf16``) in ``torch.cpu.get_capabilities()``, or a
  CUDA GPU for which ``torch.cuda.is_bf16_supported()`` holds; fp32 everywhere else (a CPU with
  only AVX2 or AVX-512F runs bf16 emulated, slower than fp32);
* ``fp32`` and ``bf16`` are honoured as asked (bf16 where it is not native is logged as slow).

Detection is :func:`native_bf16`, which reads :func:`cpu_bf16_features` or
:func:`cuda_bf16_supported`; tests replace it by passing ``native=`` or by monkeypatching those
functions. Evaluation encoders always run in fp32 (:data:`EVALUATION_PRECISION`).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any, Literal

logger = logging.getLogger(__name__)

__all__ = [
    "CPU_BF16_FEATURES",
    "DTYPES",
    "EVALUATION_PRECISION",
    "Dtype",
    "Precision",
    "RequestedDtype",
    "cpu_bf16_features",
    "cuda_bf16_supported",
    "native_bf16",
    "resolve_precision",
]

Dtype = Literal["fp32", "bf16"]
RequestedDtype = Literal["auto", "fp32", "bf16"]
#: The values ``compute.dtype`` accepts.
DTYPES: tuple[RequestedDtype, ...] = ("auto", "fp32", "bf16")
#: CPU features (names as ``torch.cpu.get_capabilities()`` spells them) that run bf16 natively.
CPU_BF16_FEATURES: tuple[str, ...] = ("amx_bf16", "avx512_bf16")
#: The precision evaluation encoders run in: bf16 scores were not measured within 0.1 points of fp32.
EVALUATION_PRECISION: Dtype = "fp32"


@dataclass(frozen=True)
class Precision:
    """What a stage computes in on one device, and why.

    Attributes:
        requested: What the recipe asked for (``auto``, ``fp32`` or ``bf16``).
        dtype: What is used: ``fp32`` or ``bf16``.
        device: ``cpu`` or ``cuda``.
        native_bf16: Whether the device runs bf16 natively (as detected).
        reason: One line: why this dtype (the detected features, or "asked for").
    """

    requested: RequestedDtype
    dtype: Dtype
    device: str
    native_bf16: bool
    reason: str

    @property
    def torch_dtype(self) -> Any:
        """``torch.bfloat16`` or ``torch.float32``."""
        import torch

        return torch.bfloat16 if self.dtype == "bf16" else torch.float32

    def to_dict(self) -> dict[str, Any]:
        """The record's fields as a plain dict (for the JSON records)."""
        return asdict(self)


def cpu_bf16_features() -> list[str]:
    """The native-bf16 features (:data:`CPU_BF16_FEATURES`) torch reports for this CPU.

    Reads ``torch.cpu.get_capabilities()`` (torch ≥ 2.8); older torch: ``torch.cpu._is_amx_tile_supported``
    and ``torch.cpu._is_avx512_bf16_supported``.
    """
    import torch

    capabilities = getattr(torch.cpu, "get_capabilities", None)
    if capabilities is not None:
        caps = capabilities()
        return [name for name in CPU_BF16_FEATURES if caps.get(name, False)]
    found = []
    if getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)():
        found.append("amx_bf16")
    if getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)():
        found.append("avx512_bf16")
    return found


def cuda_bf16_supported() -> bool:
    """Whether a CUDA GPU is present and torch says it supports bf16."""
    import torch

    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def native_bf16(device: str) -> tuple[bool, str]:
    """Whether ``device`` runs bf16 natively, and what was detected (one phrase).

    Args:
        device: ``cpu`` or ``cuda`` (``cuda:N`` counts as ``cuda``).

    Returns:
        ``(native, what)``, e.g. ``(True, "CPU reports amx_bf16")``.
    """
    if _kind(device) == "cuda":
        ok = cuda_bf16_supported()
        return ok, "the GPU supports bf16" if ok else "the GPU does not support bf16"
    features = cpu_bf16_features()
    if features:
        return True, f"CPU reports {', '.join(features)}"
    return False, "CPU reports neither AMX nor AVX512-BF16"


def _kind(device: str) -> str:
    return "cuda" if str(device).startswith("cuda") else "cpu"


def resolve_precision(requested: str, device: str, *, native: bool | None = None) -> Precision:
    """The precision a stage uses on ``device`` for the recipe's ``compute.dtype``.

    Args:
        requested: ``auto``, ``fp32`` or ``bf16``.
        device: ``cpu``, ``cuda`` or ``cuda:N``.
        native: Whether the device runs bf16 natively; ``None``: detect it (:func:`native_bf16`).

    Returns:
        The :class:`Precision` (``auto``: bf16 only where native).

    Raises:
        ValueError: If ``requested`` is not one of :data:`DTYPES` (one line).
    """
    if requested not in DTYPES:
        raise ValueError(f"compute.dtype must be one of {', '.join(DTYPES)}, not {requested!r}")
    kind = _kind(device)
    if native is None:
        native, what = native_bf16(kind)
    else:
        what = "bf16 detection given" + ("" if native else " as absent")
    if requested == "auto":
        dtype: Dtype = "bf16" if native else "fp32"
        reason = f"auto: {what}"
    else:
        dtype = requested  # type: ignore[assignment]
        reason = f"asked for {requested}"
        if dtype == "bf16" and not native:
            logger.warning(
                "compute.dtype bf16 on a %s without native bf16 (%s): emulated, slower than fp32", kind, what
            )
    return Precision(requested=requested, dtype=dtype, device=kind, native_bf16=bool(native), reason=reason)  # type: ignore[arg-type]
