"""BibTeX of the methods leaf-hub implements, one copy each (no torch needed to read them).

The losses (:mod:`leaf_hub.losses`) name the papers they implement with these, a built loss's
``citations`` are recorded in ``metrics.json`` by distillation, and the model card cites what was
recorded (:func:`leaf_hub.model_card.render_card`); the card also cites Sentence-BERT and, from
mteb's metadata, each evaluated task.
"""

from __future__ import annotations

__all__ = [
    "KALM_V2",
    "KALM_V2_CITATION",
    "LEAF",
    "LEAF_CITATION",
    "LG_ANNA",
    "LG_ANNA_CITATION",
    "SBERT",
    "SBERT_CITATION",
]

#: Labels the card shows above each entry (the keys of a loss's ``citations``).
LEAF = "LEAF"
LG_ANNA = "LG-ANNA (score distillation)"
KALM_V2 = "KaLM-Embedding-V2 (focal reweighting)"
SBERT = "Sentence-BERT"

LEAF_CITATION = """@misc{vujanic2025leaf,
    title={LEAF: Knowledge Distillation of Text Embedding Models with Teacher-Aligned Representations},
    author={Robin Vujanic and Thomas Rueckstiess},
    year={2025},
    eprint={2509.12539},
    archivePrefix={arXiv},
    primaryClass={cs.IR},
    url={https://arxiv.org/abs/2509.12539}
}"""

LG_ANNA_CITATION = """@misc{choi2025lganna,
    title={LG-ANNA-Embedding technical report},
    author={Jooyoung Choi and Hyun Kim and Hansol Jang and Changwook Jun and Kyunghoon Bae and Hyewon Choi and
        Stanley Jungkyu Choi and Honglak Lee and Chulmin Yun},
    year={2025},
    eprint={2506.07438},
    archivePrefix={arXiv},
    primaryClass={cs.CL},
    url={https://arxiv.org/abs/2506.07438}
}"""

KALM_V2_CITATION = """@misc{zhao2025kalmembeddingv2,
    title={KaLM-Embedding-V2: Superior Training Techniques and Data Inspire A Versatile Embedding Model},
    author={Xinping Zhao and Xinshuo Hu and Zifei Shan and Shouzheng Huang and Yao Zhou and Xin Zhang and
        Zetian Sun and Zhenyu Liu and Dongfang Li and Xinyuan Wei and Youcheng Pan and Yang Xiang and
        Meishan Zhang and Haofen Wang and Jun Yu and Baotian Hu and Min Zhang},
    year={2025},
    eprint={2506.20923},
    archivePrefix={arXiv},
    primaryClass={cs.CL},
    url={https://arxiv.org/abs/2506.20923}
}"""

SBERT_CITATION = """@inproceedings{reimers-2019-sentence-bert,
  title = {Sentence-BERT: Sentence Embeddings using Siamese BERT-Networks},
  author = {Reimers, Nils and Gurevych, Iryna},
  booktitle = {Proceedings of the 2019 Conference on Empirical Methods in Natural Language Processing},
  month = {11},
  year = {2019},
  publisher = {Association for Computational Linguistics},
  url = {https://arxiv.org/abs/1908.10084},
}"""
