"""Verification of a published revision: the bytes, a fresh-process reload and the exports, against the local run.

One reload-and-compare (:func:`reload_min_cosine`) serves both checks:

* :func:`verify_commit`, before a tag exists: download the commit into a fresh cache, compare
  every file's sha256 with the staged one, load it with ``SentenceTransformer`` in a fresh process
  and compare probe-text embeddings with the local model (cosine >= :data:`leaf_hub.hub.RELOAD_MIN_COSINE`);
  run each published export from the downloaded files against the local export (the same
  threshold) and, for fp32, against the torch model (cosine >= 0.99);
* :func:`verify_tag`, the release's final check: the tag as users load it, and its exports.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leaf_hub.errors import VerificationError
from leaf_hub.hub import RELOAD_MIN_COSINE
from leaf_hub.publish.stage import StagedRepo, file_table
from leaf_hub.records import ReleaseManifest

if TYPE_CHECKING:
    import numpy as np

    from leaf_hub.hub import HubClient
    from leaf_hub.recipe import Recipe
    from leaf_hub.run_folder import RunFolder

logger = logging.getLogger(__name__)

__all__ = ["check_published_exports", "reload_min_cosine", "verify_commit", "verify_tag"]


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    import numpy as np

    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float(np.min(np.sum(a * b, axis=1)))


def _reload_calls(kind: str, model_dir: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    if kind == "model":
        config = json.loads((model_dir / "config_sentence_transformers.json").read_text(encoding="utf-8"))
        has_query = "query" in (config.get("prompts") or {})
        return {"query": ("encode", {"prompt_name": "query"} if has_query else {}), "plain": ("encode", {})}
    return {"encode_query": ("encode_query", {}), "encode_document": ("encode_document", {})}


def _reference_vectors(
    kind: str, repo_id: str, model_dir: Path, recipe: Recipe | None, teacher_folder: Path | None
) -> dict[str, Any]:
    """Probe-text embeddings of the local models, keyed like the reload calls."""
    from sentence_transformers import SentenceTransformer

    from leaf_hub.hub import PROBE_TEXTS

    texts = list(PROBE_TEXTS)
    student = SentenceTransformer(str(model_dir), device="cpu")
    has_query = "query" in (student.prompts or {})
    query_kwargs = {"prompt_name": "query"} if has_query else {}
    if kind == "model":
        return {
            "query": student.encode(texts, convert_to_numpy=True, **query_kwargs),
            "plain": student.encode(texts, convert_to_numpy=True),
        }
    if teacher_folder is None or recipe is None:
        raise VerificationError(f"cannot verify {repo_id}: the teacher folder is not available locally")
    teacher = SentenceTransformer(str(teacher_folder), device="cpu")
    if recipe.teacher.max_seq_length:
        teacher.max_seq_length = recipe.teacher.max_seq_length
    doc_prompt = recipe.teacher.document_prompt
    return {
        "encode_query": student.encode(texts, convert_to_numpy=True, **query_kwargs),
        "encode_document": teacher.encode([doc_prompt + t for t in texts], convert_to_numpy=True),
    }


def reload_min_cosine(
    client: HubClient,
    repo_id: str,
    revision: str,
    model_dir: Path,
    *,
    hf_home: Path,
    kind: str = "model",
    recipe: Recipe | None = None,
    teacher_folder: Path | None = None,
) -> float:
    """Load ``repo_id@revision`` in a fresh process and compare its probe-text embeddings with the local model's.

    Args:
        client: The hub client.
        repo_id: The published repo.
        revision: Commit or tag to load.
        model_dir: The local student folder.
        hf_home: An empty folder, the fresh process's ``HF_HOME``.
        kind: ``model`` (``encode`` with and without the query prompt) or ``asym``
            (``encode_query`` -> the student, ``encode_document`` -> the teacher).
        recipe: The recipe (``asym``: the teacher's token limit and document prompt).
        teacher_folder: The local teacher folder (``asym``).

    Returns:
        The smallest cosine between a reloaded and a local vector of the same probe text.

    Raises:
        VerificationError: If the revision does not load in a fresh process, or ``asym`` has no
            local teacher to compare with.
    """
    from leaf_hub.hub import reload_in_subprocess

    remote = reload_in_subprocess(client, repo_id, revision, _reload_calls(kind, model_dir), hf_home=hf_home)
    local = _reference_vectors(kind, repo_id, model_dir, recipe, teacher_folder)
    return min(_min_cosine(local[name], remote[name]) for name in local)


def verify_commit(
    client: HubClient, repo: StagedRepo, commit: str, run: RunFolder, recipe: Recipe, teacher_folder: Path | None
) -> float:
    """Download ``commit`` into a fresh cache, check sha256s, reload in a fresh process, compare vectors.

    Returns:
        The smallest probe cosine of the reload.

    Raises:
        VerificationError: If a file is missing or differs, the reload or an export embeds the probe
            texts differently, or the commit does not load.
    """
    with tempfile.TemporaryDirectory(prefix="leaf-hub-verify-") as tmp:
        # A fresh HF_HOME: the download fills its hub cache, the fresh process loads from it.
        hf_home = Path(tmp) / "hf_home"
        snapshot = client.download(repo.repo_id, commit, hf_home / "hub")
        remote = file_table(snapshot)
        missing = sorted(set(repo.files) - set(remote))
        if missing:
            raise VerificationError(
                f"published commit {commit[:12]} of {repo.repo_id} lacks {missing[0]}"
                + (f" (+{len(missing) - 1} more)" if len(missing) > 1 else ""),
                repo_id=repo.repo_id,
                revision=commit,
            )
        changed = sorted(p for p in repo.files if remote[p][1] != repo.files[p][1])
        if changed:
            raise VerificationError(
                f"published {changed[0]} in {repo.repo_id}@{commit[:12]} differs from the staged file (sha256)",
                repo_id=repo.repo_id,
                revision=commit,
            )
        worst = reload_min_cosine(
            client,
            repo.repo_id,
            commit,
            run.model_dir,
            hf_home=hf_home,
            kind=repo.kind,
            recipe=recipe,
            teacher_folder=teacher_folder,
        )
        if repo.kind == "model" and repo.manifest.exports:
            _verify_exports(repo, commit, snapshot, run)
    if worst < RELOAD_MIN_COSINE:
        raise VerificationError(
            f"published {repo.repo_id}@{commit[:12]} embeds probe texts differently from the local model: "
            f"min cosine {worst:.6f} < {RELOAD_MIN_COSINE}; the commit stays untagged",
            repo_id=repo.repo_id,
            revision=commit,
        )
    logger.info("verified %s@%s: min cosine %.6f", repo.repo_id, commit[:12], worst)
    return worst


def _verify_exports(repo: StagedRepo, commit: str, snapshot: Path, run: RunFolder) -> float:
    """Run each downloaded export: same vectors as the local export, and (fp32) as the torch model.

    Returns:
        The smallest cosine between a downloaded export's and the local export's probe vectors.
    """
    from leaf_hub.encoders import SentenceTransformerTeacher
    from leaf_hub.hub import PROBE_TEXTS
    from leaf_hub.models.exported import MIN_EXPORT_COSINE, ExportedStudent

    texts = list(PROBE_TEXTS)
    torch_vectors: np.ndarray | None = None
    worst = 1.0
    for entry in (repo.manifest.exports or {}).get("exports", []):
        published = ExportedStudent(snapshot, snapshot / entry["path"])
        remote = published.encode(texts, kind="query")
        local = ExportedStudent(run.model_dir, run.exports_dir / entry["path"]).encode(texts, kind="query")
        same = _min_cosine(remote, local)
        if same < RELOAD_MIN_COSINE:
            raise VerificationError(
                f"published {entry['path']} in {repo.repo_id}@{commit[:12]} embeds probe texts differently from "
                f"the local export: min cosine {same:.6f} < {RELOAD_MIN_COSINE}; the commit stays untagged",
                repo_id=repo.repo_id,
                revision=commit,
            )
        if entry["precision"] == "fp32":
            if torch_vectors is None:
                torch_model = SentenceTransformerTeacher(run.model_dir, query_prompt=published.query_prompt)
                torch_vectors = torch_model.encode(texts, "query")
            close = _min_cosine(remote, torch_vectors)
            if close < MIN_EXPORT_COSINE:
                raise VerificationError(
                    f"published {entry['path']} in {repo.repo_id}@{commit[:12]} is not the torch model: "
                    f"min cosine {close:.4f} < {MIN_EXPORT_COSINE}; the commit stays untagged",
                    repo_id=repo.repo_id,
                    revision=commit,
                )
        worst = min(worst, same)
        logger.info("verified %s in %s@%s: min cosine %.6f", entry["path"], repo.repo_id, commit[:12], same)
    return worst


def check_published_exports(client: HubClient, repo_id: str, revision: str, run: RunFolder) -> float | None:
    """Download ``revision`` and run its exports against the run's local ones (the release's final check).

    Returns:
        The smallest probe cosine between a published and a local export, or ``None`` when the
        release has no exports.

    Raises:
        VerificationError: If an export embeds the probe texts differently.
    """
    with tempfile.TemporaryDirectory(prefix="leaf-hub-exports-") as tmp:
        snapshot = client.download(repo_id, revision, Path(tmp) / "hub")
        manifest = ReleaseManifest.from_json((snapshot / "release.json").read_text(encoding="utf-8"))
        if not manifest.exports:
            return None
        repo = StagedRepo(repo_id, snapshot, {}, manifest, "model")
        return _verify_exports(repo, revision, snapshot, run)


def verify_tag(client: HubClient, repo_id: str, tag: str, run: RunFolder) -> float:
    """The release's final check: ``SentenceTransformer(repo_id, revision=tag)`` in a fresh process, then its exports.

    Returns:
        The smallest probe cosine of the reload and of the published exports.

    Raises:
        VerificationError: If the tag reloads to different embeddings or an export differs.
    """
    with tempfile.TemporaryDirectory(prefix="leaf-hub-reload-") as tmp:
        worst = reload_min_cosine(client, repo_id, tag, run.model_dir, hf_home=Path(tmp))
    if worst < RELOAD_MIN_COSINE:
        raise VerificationError(f"{repo_id}@{tag} reloads to different embeddings (min cosine {worst:.6f})")
    exports = check_published_exports(client, repo_id, tag, run)  # the tag's ONNX/OpenVINO
    return worst if exports is None else min(worst, exports)
