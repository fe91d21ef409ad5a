"""Every exception leaf-hub raises on purpose.

Each class also inherits the builtin a caller would expect (``ValueError`` for bad input,
``OSError`` for I/O), as huggingface_hub does. Messages are one line, name the offending
key, file or value, and never contain a token. The CLI maps each class to an exit code
(see :mod:`leaf_hub.cli`).
"""

from __future__ import annotations

# ---------------------------------------------------------------------------
# BASE
# ---------------------------------------------------------------------------


class LeafHubError(Exception):
    """Base class of every error leaf-hub raises on purpose.

    Example message: ``leaf-hub: something went wrong``.
    """


# ---------------------------------------------------------------------------
# INPUT ERRORS (exit code 2)
# ---------------------------------------------------------------------------


class RecipeError(LeafHubError, ValueError):
    """A recipe file is missing, malformed or fails validation.

    Example message: ``recipe leaf-ir.yaml: training.batch_size: Input should be a valid integer``.
    """


class AssetError(LeafHubError, FileNotFoundError):
    """A model folder or data file that a recipe needs is missing or unusable.

    Example message: ``data file not found: ../shared/data/distill/queries_en.txt (set LEAF_HUB_DATA ...)``.
    """


class ModelFolderError(LeafHubError, ValueError):
    """A path given as a model is not a sentence-transformers model folder.

    Example message: ``not a sentence-transformers model folder: runs/x (no modules.json)``.
    """


class NotPortableError(ModelFolderError):
    """A model folder would not load on every supported sentence-transformers version.

    Example message: ``runs/x/model is not portable: modules.json[2]: type ...base.modules.normalize.Normalize
    is not a classic sentence_transformers.models type``.
    """


class RepoIdError(LeafHubError, ValueError):
    """A Hub repository id breaks the one rule of :func:`leaf_hub.hub.check_repo_id`.

    Example message: ``invalid repo id 'org/bad name!': use 1-96 of [A-Za-z0-9._-] in ORG and in NAME ...``.
    """


class ServerConfigError(LeafHubError, ValueError):
    """The Hub server's configuration is unusable (token file, data dir, limits, port in use).

    Example message: ``token file tokens.txt line 3: role must be 'read' or 'write', got 'admin'``.
    """


# ---------------------------------------------------------------------------
# STAGE ERRORS
# ---------------------------------------------------------------------------


class TeacherError(LeafHubError, RuntimeError):
    """The teacher returned unusable vectors (wrong shape, NaN, wrong count).

    Example message: ``teacher returned 12 vectors for 16 texts``.
    """


class TeacherFileError(TeacherError, ValueError):
    """A precomputed teacher file is unusable: unreadable, wrong dimension, non-finite, not normalised.

    Example message: ``teacher vectors vectors.parquet row 17 ('what is a leaf?'): 384 values, expected 768``.
    """


class MissingTeacherTextError(TeacherFileError, KeyError):
    """A text that training needs has no vector in the precomputed teacher file.

    Example message: ``teacher vectors vectors.parquet have no vector for query text 'what is a leaf?'``.
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CacheCorruptError(LeafHubError, OSError):
    """A cached file (teacher chunk, checkpoint) failed its checksum.

    Example message: ``teacher cache chunk 00003 failed its sha256 check; it will be recomputed``.
    """


class DistillError(LeafHubError, RuntimeError):
    """Training failed (non-finite loss, dimension mismatch, unwritable output).

    Example message: ``loss is nan at step 41; lower the learning rate or check the teacher vectors``.
    """


class RunFolderError(LeafHubError, ValueError):
    """A run folder lacks a record a stage needs, or holds a malformed one.

    Example message: ``run runs/x has no eval/results.json; run `leaf-hub evaluate runs/x` first``.
    """


class EvalError(LeafHubError, RuntimeError):
    """Evaluation failed or was asked for something that does not exist.

    Example message: ``unknown task 'SciFakt'; known: NFCorpus, SciFact, STSBenchmark``.
    """


class CardError(LeafHubError, ValueError):
    """A model card could not be rendered from a run's results.

    Example message: ``run runs/x has no eval/results.json; run `leaf-hub evaluate runs/x` first``.
    """


class LicenseError(LeafHubError, ValueError):
    """Publishing would redistribute a component under a non-permissive licence.

    Example message: ``teacher licence 'gemma' is not Apache-2.0 compatible; pass --allow-license-override``.
    """


class ReleaseError(LeafHubError, RuntimeError):
    """A release precondition failed (tag/version mismatch, missing token, stale results).

    Example message: ``tag v0.2.0 does not match recipe version 0.1.0``.
    """


class ExportError(ReleaseError):
    """A student could not be exported to ONNX/OpenVINO, or an export fails its check against torch.

    Example message: ``onnx/model.onnx embeds probe texts differently from the torch model: min cosine 0.91 < 0.99``.
    """


class LeaderboardError(LeafHubError, ValueError):
    """A leaderboard submission cannot be built honestly.

    Example message: ``results were computed on weights that differ from revision 3f2a...``.
    """


class ScoreMismatchError(LeaderboardError):
    """leaf-hub's score for a task differs from stock mteb's on the same saved folder beyond the tolerance.

    Raised before a submission writes anything (:func:`leaf_hub.records.agreement.require_agreement`).

    Attributes:
        task: The mteb task.
        leaf_hub: leaf-hub's main score.
        mteb: Stock mteb's main score (``SentenceTransformerEncoderWrapper`` on the saved folder).
        tolerance: The largest absolute difference allowed.

    Example message: ``STSBenchmark: leaf-hub scores 0.830300 but stock mteb scores 0.820300 on the saved
    folder (|diff| 1.0e-02 > 1e-04); the submission is refused``.
    """

    def __init__(self, message: str, *, task: str, leaf_hub: float, mteb: float, tolerance: float) -> None:
        super().__init__(message)
        self.task = task
        self.leaf_hub = leaf_hub
        self.mteb = mteb
        self.tolerance = tolerance


# ---------------------------------------------------------------------------
# HUB ERRORS (exit code 3)
# ---------------------------------------------------------------------------


class HubError(LeafHubError, OSError):
    """A Hub request failed.

    Example message: ``hub request failed: 503 Service Unavailable``.
    """

    def __init__(self, message: str, *, repo_id: str | None = None, revision: str | None = None) -> None:
        super().__init__(message)
        self.repo_id = repo_id
        self.revision = revision


class HubAuthError(HubError):
    """The Hub refused the token (missing, invalid, or without write access).

    Example message: ``the hub refused the token (401): invalid credentials``.
    """


class RepoNotFound(HubError):  # noqa: N818 - named like the Hub error code
    """The repository does not exist or is not visible with this token.

    Example message: ``repository not found: org/leaf-ir``.
    """


class TagExistsError(HubError):
    """A release tag already exists; tags are never moved.

    Example message: ``tag v0.1.0 already exists on org/leaf-ir (commit 3f2a...); bump the version``.
    """


class VerificationError(HubError):
    """The published commit did not reload to the same model.

    Example message: ``published model differs from the local one: min cosine 0.91 < 0.9999``.
    """
