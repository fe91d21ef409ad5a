"""The precision policy: ``compute.dtype`` resolved per device, detection forced both ways."""

from __future__ import annotations

from pathlib import Path

import pytest

from leaf_hub import precision
from leaf_hub.errors import RecipeError
from leaf_hub.precision import resolve_precision
from leaf_hub.recipe import parse_recipe
from tests.distill.conftest import TINY


def _cpuinfo_flags() -> set[str] | None:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return None


def test_auto_is_fp32_on_a_cpu_without_amx_or_avx512_bf16(monkeypatch):
    monkeypatch.setattr(precision, "cpu_bf16_features", lambda: [])
    chosen = resolve_precision("auto", "cpu")
    assert (chosen.dtype, chosen.native_bf16, chosen.device) == ("fp32", False, "cpu")
    assert "neither AMX nor AVX512-BF16" in chosen.reason


@pytest.mark.parametrize("feature", ["amx_bf16", "avx512_bf16"])
def test_auto_is_bf16_on_a_cpu_that_reports_native_bf16(monkeypatch, feature):
    monkeypatch.setattr(precision, "cpu_bf16_features", lambda: [feature])
    chosen = resolve_precision("auto", "cpu")
    assert (chosen.dtype, chosen.native_bf16) == ("bf16", True)
    assert feature in chosen.reason


@pytest.mark.parametrize(("supported", "expected"), [(True, "bf16"), (False, "fp32")])
def test_auto_on_a_gpu_follows_its_bf16_support(monkeypatch, supported, expected):
    monkeypatch.setattr(precision, "cuda_bf16_supported", lambda: supported)
    monkeypatch.setattr(precision, "cpu_bf16_features", lambda: ["amx_bf16"])  # the CPU must not decide
    chosen = resolve_precision("auto", "cuda:0")
    assert (chosen.dtype, chosen.device) == (expected, "cuda")
    assert resolve_precision("auto", "cuda", native=supported).dtype == expected


@pytest.mark.parametrize("native", [True, False])
@pytest.mark.parametrize("asked", ["fp32", "bf16"])
def test_explicit_dtype_is_honoured(asked, native):
    chosen = resolve_precision(asked, "cpu", native=native)
    assert chosen.dtype == asked
    assert chosen.requested == asked
    assert chosen.to_dict()["dtype"] == asked


def test_this_machine_matches_its_cpu_flags():
    """What torch reports agrees with the kernel's flags (an independent source), and auto follows it."""
    flags = _cpuinfo_flags()
    if flags is None:
        pytest.skip("no /proc/cpuinfo flags on this platform")
    native = bool(flags & {"amx_bf16", "avx512_bf16"})
    assert bool(precision.cpu_bf16_features()) == native
    assert resolve_precision("auto", "cpu").dtype == ("bf16" if native else "fp32")


def test_bad_dtype_is_one_line():
    with pytest.raises(ValueError, match="compute.dtype must be one of auto, fp32, bf16") as info:
        resolve_precision("fp16", "cpu")
    assert "\n" not in str(info.value)
    data = {**TINY, "compute": {"device": "cpu", "minutes": 10, "dtype": "fp16"}}
    with pytest.raises(RecipeError) as info:
        parse_recipe(data, "tiny.yaml")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("recipe tiny.yaml: compute.dtype:")
    assert "'auto', 'fp32' or 'bf16'" in message


def test_recipe_default_is_auto_and_not_in_the_fingerprint():
    plain = parse_recipe({**TINY, "compute": {"device": "cpu", "minutes": 10}})
    assert plain.compute is not None and plain.compute.dtype == "auto"
    forced = parse_recipe({**TINY, "compute": {"device": "cpu", "minutes": 10, "dtype": "bf16"}})
    assert forced.compute is not None and forced.compute.dtype == "bf16"
    assert plain.fingerprint() == forced.fingerprint()  # resolved per machine; the records say what ran
