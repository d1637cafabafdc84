"""The RAG chat pipelines users deploy instead, run by the frameworks' own code.

Two baselines, built as the frameworks' documentation builds them:

* **LangChain**: ``create_history_aware_retriever`` + ``create_retrieval_chain`` with
  ``create_stuff_documents_chain`` and the prompts of LangChain's conversational-RAG
  tutorial; ``RecursiveCharacterTextSplitter`` (4,000 characters, overlap 200: its
  defaults; the tutorial uses 1,000), an ``InMemoryVectorStore`` retriever at its default
  k=4, and the whole chat history resent every turn.
* **LlamaIndex**: ``CondensePlusContextChatEngine.from_defaults`` over a
  ``VectorStoreIndex`` (``SentenceSplitter`` 1,024 tokens, overlap 200, retriever top-k 2:
  the defaults), its memory keeping history up to the model's context window.

Both use the library's MiniLM embedder (same vectors) and a **recording stand-in LLM**, a
real subclass of each framework's chat model, that records every prompt the chain sends
(condense calls included) and returns: for a condense call, the stated proxy for the
condensed question (previous question + its gold answer + this question); for an answer
call, the turn's fixed-length completion, the same text in every arm.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

Call = tuple[tuple[str, str], ...]  # (role, content) per message

LC_CONTEXTUALIZE = (
    "Given a chat history and the latest user question which might reference context in "
    "the chat history, formulate a standalone question which can be understood without "
    "the chat history. Do NOT answer the question, just reformulate it if needed and "
    "otherwise return it as is."
)
LC_SYSTEM = (
    "You are an assistant for question-answering tasks. Use the following pieces of "
    "retrieved context to answer the question. If you don't know the answer, say that you "
    "don't know. Use three sentences maximum and keep the answer concise.\n\n{context}"
)


@dataclass
class Script:
    """What the stand-in LLM says on the current turn, and what it heard."""

    condensed: str = ""
    completion: str = ""
    calls: list[Call] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)


def versions() -> dict[str, str]:
    """Installed versions of the framework packages (for the report)."""
    from importlib.metadata import version

    out = {}
    for name in ("langchain", "langchain-classic", "langchain-core", "langchain-text-splitters",
                 "llama-index-core"):  # fmt: skip
        try:
            out[name] = version(name)
        except Exception:
            out[name] = "not installed"
    return out


# -- LangChain ------------------------------------------------------------------------------


def langchain_embeddings(embed: Callable[[Sequence[str]], Any]) -> Any:
    """LangChain ``Embeddings`` over ``embed`` (the same MiniLM every arm uses)."""
    from langchain_core.embeddings import Embeddings

    class MiniLM(Embeddings):
        def embed_documents(self, docs: list[str]) -> list[list[float]]:
            return [list(map(float, v)) for v in embed(docs)]

        def embed_query(self, text: str) -> list[float]:
            return list(map(float, embed([text])[0]))

    return MiniLM()


def llamaindex_embedding(embed: Callable[[Sequence[str]], Any]) -> Any:
    """A LlamaIndex ``BaseEmbedding`` over ``embed`` (the same MiniLM every arm uses)."""
    from llama_index.core.base.embeddings.base import BaseEmbedding

    class MiniLM(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return list(map(float, embed([query])[0]))

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return list(map(float, embed([text])[0]))

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return [list(map(float, v)) for v in embed(texts)]

    return MiniLM()


def _lc_role(kind: str) -> str:
    return {"human": "user", "ai": "assistant", "system": "system"}.get(kind, kind)


def langchain_arm(
    texts: dict[str, str],
    embed: Callable[[Sequence[str]], Any],
    *,
    chunk_chars: int = 4000,
    k: int | None = None,
) -> tuple[Any, Script]:
    """LangChain's history-aware retrieval chain over ``texts`` (doc id -> text).

    Returns:
        ``ask(question, history) -> (answer, context texts)`` and the shared script.
    """
    from langchain_classic.chains import create_history_aware_retriever, create_retrieval_chain
    from langchain_classic.chains.combine_documents import create_stuff_documents_chain
    from langchain_core.documents import Document
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import AIMessage, HumanMessage
    from langchain_core.outputs import ChatGeneration, ChatResult
    from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
    from langchain_core.vectorstores import InMemoryVectorStore
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    script = Script()

    class RecordingChat(BaseChatModel):
        """Records each prompt; answers with the turn's scripted text."""

        @property
        def _llm_type(self) -> str:
            return "recording-stand-in"

        def _generate(self, messages: list[Any], stop: Any = None, **kw: Any) -> ChatResult:
            call = tuple((_lc_role(m.type), str(m.content)) for m in messages)
            condense = call[0][1] == LC_CONTEXTUALIZE
            script.calls.append(call)
            script.kinds.append("condense" if condense else "answer")
            text = script.condensed if condense else script.completion
            return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_chars, chunk_overlap=200)
    docs = [Document(page_content=t, metadata={"doc": d}) for d, t in texts.items()]
    store = InMemoryVectorStore.from_documents(
        splitter.split_documents(docs), langchain_embeddings(embed)
    )
    # k=4 by default; a larger k only for the equal-recall comparison.
    retriever = store.as_retriever() if k is None else store.as_retriever(search_kwargs={"k": k})
    llm = RecordingChat()
    condense_prompt = ChatPromptTemplate.from_messages(
        [("system", LC_CONTEXTUALIZE), MessagesPlaceholder("chat_history"), ("human", "{input}")]
    )
    qa_prompt = ChatPromptTemplate.from_messages(
        [("system", LC_SYSTEM), MessagesPlaceholder("chat_history"), ("human", "{input}")]
    )
    chain = create_retrieval_chain(
        create_history_aware_retriever(llm, retriever, condense_prompt),
        create_stuff_documents_chain(llm, qa_prompt),
    )

    def ask(question: str, history: Sequence[tuple[str, str]]) -> tuple[str, list[str]]:
        msgs: list[Any] = []
        for q, a in history:
            msgs += [HumanMessage(q), AIMessage(a)]
        out = chain.invoke({"input": question, "chat_history": msgs})
        return str(out["answer"]), [d.page_content for d in out["context"]]

    return ask, script


# -- LlamaIndex -----------------------------------------------------------------------------


def llamaindex_arm(
    texts: dict[str, str],
    embed: Callable[[Sequence[str]], Any],
    *,
    context_window: int = 128_000,
    chunk_tokens: int = 1024,
    top_k: int | None = None,
) -> tuple[Any, Script]:
    """LlamaIndex's ``CondensePlusContextChatEngine`` at its defaults over ``texts``.

    Returns:
        ``ask(question, history) -> (answer, context texts)`` and the shared script.
    """
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.base.llms.types import (
        ChatMessage,
        ChatResponse,
        CompletionResponse,
        LLMMetadata,
        MessageRole,
    )
    from llama_index.core.chat_engine import CondensePlusContextChatEngine
    from llama_index.core.llms import CustomLLM
    from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
    from llama_index.core.node_parser import SentenceSplitter

    script = Script()

    class RecordingLLM(CustomLLM):
        """Records each prompt: ``complete`` is the condense call, ``chat`` the answer."""

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(context_window=context_window, num_output=256, is_chat_model=True)

        @llm_completion_callback()
        def complete(self, prompt: str, formatted: bool = False, **kw: Any) -> CompletionResponse:
            script.calls.append((("user", prompt),))
            script.kinds.append("condense")
            return CompletionResponse(text=script.condensed)

        @llm_completion_callback()
        def stream_complete(self, prompt: str, formatted: bool = False, **kw: Any) -> Any:
            raise NotImplementedError

        @llm_chat_callback()
        def chat(self, messages: Sequence[ChatMessage], **kw: Any) -> ChatResponse:
            call = tuple((str(m.role.value), str(m.content or "")) for m in messages)
            script.calls.append(call)
            script.kinds.append("answer")
            msg = ChatMessage(role=MessageRole.ASSISTANT, content=script.completion)
            return ChatResponse(message=msg)

    splitter = SentenceSplitter(chunk_size=chunk_tokens, chunk_overlap=200)
    docs = [Document(text=t, doc_id=d) for d, t in texts.items()]
    index = VectorStoreIndex.from_documents(
        docs, embed_model=llamaindex_embedding(embed), transformations=[splitter]
    )
    llm = RecordingLLM()
    # similarity_top_k=2 by default; a larger one only for the equal-recall comparison.
    retriever = (
        index.as_retriever() if top_k is None else index.as_retriever(similarity_top_k=top_k)
    )

    engine: list[Any] = []

    def ask(question: str, history: Sequence[tuple[str, str]]) -> tuple[str, list[str]]:
        # One chat engine per conversation, as deployed: its memory keeps the history (the
        # stand-in's completions) up to the context window.
        if not history or not engine:
            engine[:] = [CondensePlusContextChatEngine.from_defaults(retriever=retriever, llm=llm)]
        resp = engine[0].chat(question)
        return str(resp.response), [n.node.get_content() for n in resp.source_nodes]

    return ask, script


_WS = re.compile(r"\s+")


def norm_ws(text: str) -> str:
    """Whitespace-normalised text, for span-in-context checks across splitters."""
    return _WS.sub(" ", text).strip()
