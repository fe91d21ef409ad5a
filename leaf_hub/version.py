"""The single source of leaf-hub's version.

``pyproject.toml`` reads it (``[tool.hatch.version]``); the CLI (``leaf-hub --version``), the model
card ("Distilled with leaf-hub ..."), the published model's ``leaf_hub_version``, the hub server and
every report stamp (``scripts/bench/common.py``) read it from here.

The rule (``tests/test_version.py``): the package version is at least every shipped recipe's
``version`` (``recipes/*.yaml``) and every release recorded in ``reports/release_*.json``. A recipe
is released as ``v<recipe version>`` with the package of that day, so when a recipe's version goes
up past this one, this one goes up with it (to the same number, or the next one when the package
changed on its own).
"""

__version__ = "0.3.1"
