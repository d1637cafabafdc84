"""The frameworks' RAG chat chains with their own LLM clients, for ``--live``.

The same chains as :mod:`benchmarks.cost_frameworks` (defaults: LangChain k=4 over
4,000-character chunks; LlamaIndex top-k 2 over 1,024-token chunks), with a real LLM in
place of the recording stand-in: LangChain's ``ChatOpenAI`` (``langchain-openai``,
``stream_usage=True``) and LlamaIndex's ``LiteLLM`` (``llama-index-llms-litellm``; its
``OpenAILike`` needs ``llama-index-llms-openai``, which pins ``openai<3``, and this
environment has openai 3). Each call's ``usage`` is recorded as the provider sent it.

LlamaIndex's client breaks on the usage-only last chunk of a stream that asked for usage
(``choices`` is empty), so ``_UsageLiteLLM`` streams the same request and keeps that
chunk's counts: the one change made to a framework's client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.cost_frameworks import (
    LC_CONTEXTUALIZE,
    LC_SYSTEM,
    langchain_embeddings,
    llamaindex_embedding,
)
from contextual_avatar.routing._litellm import import_litellm, read_usage

__all__ = ["Ask", "Usage", "langchain_live", "llamaindex_live"]


@dataclass
class Usage:
    """One call's counts as the provider reported them."""

    kind: str  # "condense" or "answer"
    prompt: int
    completion: int
    cached: int = 0


#: ``ask(question, history) -> (answer, seconds to first answer token, usages, calls made)``
Ask = Callable[[str, Sequence[tuple[str, str]]], tuple[str, float, list[Usage], int]]


def _bare(model: str) -> str:
    """The model name an OpenAI client sends (litellm's ``openai/`` prefix dropped)."""
    return model.split("/", 1)[1] if model.startswith("openai/") else model


# -- LangChain ------------------------------------------------------------------------------


def langchain_live(
    texts: dict[str, str], embed: Any, *, model: str, base: str | None, key: str,
    max_tokens: int, stream: bool,
) -> Ask:  # fmt: skip
    """LangChain's history-aware chain (defaults) with ``ChatOpenAI`` as its LLM."""
    from langchain_classic.chains import create_history_aware_retriever, create_retrieval_chain
    from langchain_classic.chains.combine_documents import create_stuff_documents_chain
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.documents import Document
    from langchain_core.messages import AIMessage, HumanMessage
    from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
    from langchain_core.vectorstores import InMemoryVectorStore
    from langchain_openai import ChatOpenAI
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    log: list[Usage | None] = []
    kinds: dict[Any, str] = {}

    class Recorder(BaseCallbackHandler):
        """Reads each call's ``usage_metadata`` (None when the server sent no usage)."""

        def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: Any,
                                **kw: Any) -> None:  # fmt: skip
            first = messages[0][0].content if messages and messages[0] else ""
            kinds[run_id] = "condense" if first == LC_CONTEXTUALIZE else "answer"

        def on_llm_end(self, response: Any, *, run_id: Any, **kw: Any) -> None:
            msg = getattr(response.generations[0][0], "message", None)
            meta = getattr(msg, "usage_metadata", None)
            if not meta:
                log.append(None)
                return
            cached = (meta.get("input_token_details") or {}).get("cache_read") or 0
            log.append(Usage(kinds.get(run_id, "answer"), meta["input_tokens"],
                             meta["output_tokens"], cached))  # fmt: skip

    # A local server reads ``max_tokens``; OpenAI's reasoning models only
    # ``max_completion_tokens`` (what ChatOpenAI sends for ``max_tokens``).
    extra = {"extra_body": {"max_tokens": max_tokens}} if base else {}
    llm = ChatOpenAI(model=_bare(model), base_url=base, api_key=key, max_tokens=max_tokens,
                     stream_usage=True, streaming=stream, callbacks=[Recorder()],
                     **extra)  # type: ignore[arg-type]  # fmt: skip
    splitter = RecursiveCharacterTextSplitter(chunk_size=4000, chunk_overlap=200)
    docs = [Document(page_content=t, metadata={"doc": d}) for d, t in texts.items()]
    store = InMemoryVectorStore.from_documents(
        splitter.split_documents(docs), langchain_embeddings(embed)
    )
    chain = create_retrieval_chain(
        create_history_aware_retriever(llm, store.as_retriever(), ChatPromptTemplate.from_messages(
            [("system", LC_CONTEXTUALIZE), MessagesPlaceholder("chat_history"),
             ("human", "{input}")])),
        create_stuff_documents_chain(llm, ChatPromptTemplate.from_messages(
            [("system", LC_SYSTEM), MessagesPlaceholder("chat_history"), ("human", "{input}")])),
    )  # fmt: skip

    def ask(question: str, history: Sequence[tuple[str, str]]) -> tuple[str, float, list[Usage], int]:  # fmt: skip
        msgs: list[Any] = []
        for q, a in history:
            msgs += [HumanMessage(q), AIMessage(a)]
        before, t0, first, parts = len(log), time.perf_counter(), None, []
        for piece in chain.stream({"input": question, "chat_history": msgs}):
            if piece.get("answer"):
                first = first or time.perf_counter()
                parts.append(piece["answer"])
        new = log[before:]
        ttft = (first or time.perf_counter()) - t0
        return "".join(parts), ttft, [u for u in new if u is not None], len(new)

    return ask


# -- LlamaIndex -----------------------------------------------------------------------------


def llamaindex_live(
    texts: dict[str, str], embed: Any, *, model: str, base: str | None, key: str,
    max_tokens: int, stream: bool,
) -> Ask:  # fmt: skip
    """LlamaIndex's ``CondensePlusContextChatEngine`` (defaults) with its ``LiteLLM`` client."""
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole
    from llama_index.core.chat_engine import CondensePlusContextChatEngine
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.llms.litellm import LiteLLM

    litellm = import_litellm()  # offline price map before LlamaIndex imports litellm
    log: list[Usage | None] = []

    def record(kind: str, usage: Any) -> None:
        u = read_usage(usage)
        ok = u.prompt is not None and u.completion is not None
        log.append(Usage(kind, u.prompt or 0, u.completion or 0, u.cached or 0) if ok else None)

    class _UsageLiteLLM(LiteLLM):
        """LlamaIndex's LiteLLM client, recording usage; streams keep the usage chunk."""

        def _chat(self, messages: Sequence[ChatMessage], **kw: Any) -> ChatResponse:
            resp = super()._chat(messages, **kw)
            # The answer call opens with the context system prompt; condense is one user turn.
            answer = bool(messages) and messages[0].role == MessageRole.SYSTEM
            record("answer" if answer else "condense", getattr(resp.raw, "usage", None))
            return resp

        def _stream_chat(self, messages: Sequence[ChatMessage], **kw: Any) -> Any:
            from llama_index.llms.litellm.utils import to_openai_message_dicts

            args = {**self._get_all_kwargs(**kw), "stream_options": {"include_usage": True}}

            def gen() -> Any:
                text, usage = "", None
                for chunk in litellm.completion(messages=to_openai_message_dicts(messages),
                                                stream=True, **args):  # fmt: skip
                    usage = getattr(chunk, "usage", None) or usage
                    if not chunk.choices:
                        continue
                    delta = chunk.choices[0].delta.content or ""
                    text += delta
                    yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT,
                                                           content=text), delta=delta, raw=chunk)  # fmt: skip
                record("answer", usage)

            return gen()

    extra: dict[str, Any] = {"api_key": key}
    if base:
        extra["api_base"] = base
    llm = _UsageLiteLLM(model=model, max_tokens=max_tokens, **extra)
    splitter = SentenceSplitter(chunk_size=1024, chunk_overlap=200)
    docs = [Document(text=t, doc_id=d) for d, t in texts.items()]
    index = VectorStoreIndex.from_documents(
        docs, embed_model=llamaindex_embedding(embed), transformations=[splitter]
    )
    engine: list[Any] = []

    def ask(question: str, history: Sequence[tuple[str, str]]) -> tuple[str, float, list[Usage], int]:  # fmt: skip
        if not history or not engine:  # one chat engine (its memory) per conversation
            engine[:] = [CondensePlusContextChatEngine.from_defaults(
                retriever=index.as_retriever(), llm=llm)]  # fmt: skip
        before, t0 = len(log), time.perf_counter()
        if stream:
            resp = engine[0].stream_chat(question)
            first, parts = None, []
            for delta in resp.response_gen:
                first = first or time.perf_counter()
                parts.append(delta)
            text = "".join(parts)
        else:
            text, first = str(engine[0].chat(question).response), None
        ttft = (first or time.perf_counter()) - t0
        new = log[before:]
        return text, ttft, [u for u in new if u is not None], len(new)

    return ask
