"""The sentence-transformers compatibility harness (cached per-release venvs, isolated probes).

``harness`` builds the venvs and runs the matrix; ``probe`` is the script each venv runs. Not
shipped with leaf-hub: ``scripts/bench/compat_matrix.py`` and ``tests/compat`` import it as
``tests.support.compat.harness``.
"""
