"""leaf-hub: distil, evaluate, card and publish LEAF text-embedding students.

Importing the package does no I/O and loads no heavy library; each stage imports torch,
sentence-transformers or mteb only when it runs.
"""

from leaf_hub.version import __version__

__all__ = ["__version__"]
