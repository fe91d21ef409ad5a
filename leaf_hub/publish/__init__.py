"""Publishing: turn a distilled and evaluated run into a verified, tagged Hub release.

One concept per module:

* :mod:`~leaf_hub.publish.checks`: what must hold first (repo ids, the run's model and results,
  the tag, portability, the licence gate of :mod:`leaf_hub.licenses`);
* :mod:`~leaf_hub.publish.stage`: one folder per repo with its deterministic ``release.json``;
* :mod:`~leaf_hub.publish.eval_results`: the Hub's ``.eval_results/<Task>.yaml`` files of a staged
  repo (its own full-split scores);
* :mod:`~leaf_hub.publish.asym`: the ``-asym`` companion, a stock ``Router`` (queries -> student,
  documents -> teacher);
* :mod:`~leaf_hub.publish.verify`: download, sha256 and fresh-process reload of a published revision;
* :mod:`~leaf_hub.publish.tag`: ``v{version}`` tags, never moved;
* :mod:`~leaf_hub.publish.run`: :func:`publish`, which stages, uploads one commit per repo,
  verifies and only then tags.

The orchestrator (:func:`leaf_hub.release.publish_run`, which ``leaf-hub publish`` and
``leaf-hub release`` both call) runs the checks, the export stage (:mod:`leaf_hub.export`) and the
cards (:mod:`leaf_hub.model_card`), then hands the rendered cards and the exports record to
:func:`publish`; this package imports neither of those stages. With ``asym`` both repos go
through the same steps and both tags are created after both verify. A black-box teacher
(``teacher.kind`` ``precomputed`` or ``callable``) has no weights to route documents to, so
``asym`` is refused unless the recipe names a ``teacher.document_encoder``.
"""

from leaf_hub.publish.checks import ReleaseChecks, check_release, check_run
from leaf_hub.publish.run import PublishResult, RepoRelease, publish
from leaf_hub.publish.stage import ReleaseContent, StagedRepo, stage_release
from leaf_hub.publish.tag import check_tag
from leaf_hub.publish.verify import check_published_exports, verify_tag

__all__ = [
    "PublishResult",
    "ReleaseChecks",
    "ReleaseContent",
    "RepoRelease",
    "StagedRepo",
    "check_published_exports",
    "check_release",
    "check_run",
    "check_tag",
    "publish",
    "stage_release",
    "verify_tag",
]
