"""Routing and answering: the similarity router and the responders behind it."""

from contextual_avatar.routing._config import AnswerConfig
from contextual_avatar.routing._extractive import ExtractiveResponder, split_sentences
from contextual_avatar.routing._responder import Reply, Responder
from contextual_avatar.routing._router import SimilarityRouter

__all__ = [
    "AnswerConfig",
    "ExtractiveResponder",
    "Reply",
    "Responder",
    "SimilarityRouter",
    "split_sentences",
]
