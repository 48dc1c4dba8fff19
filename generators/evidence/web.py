"""Web search through a search-capable model with Inspect's `web_search` tool.

The `searcher` model is asked to search for published sources on a taxonomy node. Whatever
search ran — a provider's own (OpenAI, Anthropic, Gemini, ...) or an external one that Inspect
calls for the model (Tavily, Exa, Google CSE) — the results come back as citations: a URL, a
title and the cited text. Each becomes a passage; its URL and title are the evidence's source,
and quotes are verified against the cited text (the search result, not the whole page, which is
never fetched here).

Caveat, stated plainly: this module is tested with a scripted model and a stub search tool that
return results in the shapes Inspect documents; it has not been run against a real provider
from this project's offline machine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from inspect_ai.model import (
    CachePolicy,
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageTool,
    ChatMessageUser,
    ContentToolUse,
    GenerateConfig,
    Model,
    execute_tools,
)
from inspect_ai.tool import Tool

from ..llm import _active_stats
from ..records import Source, content_id
from .corpus import Passage

SEARCH_SYSTEM = (
    "You research who is affected by a topic. Use the web_search tool to find published sources "
    "(public health agencies, statistics offices, peer-reviewed studies, reputable reporting). "
    "Then list the sources you found with a one-sentence summary of each."
)
SEARCH_REQUEST = "Find published sources on who is most affected by: {query}. Search the web; do not answer from memory."


@dataclass
class WebRetriever:
    """Passages from a searcher model's web search results (URLs, titles and cited text kept)."""

    model: Model
    providers: Any = None  # web_search(providers=...): e.g. ["openai", "anthropic", {"tavily": {...}}]
    tool: Tool | None = None  # a ready-made search tool (tests pass a stub); default web_search(providers)
    max_tokens: int = 1500
    max_turns: int = 4
    searches: int = field(default=0, init=False)

    def describe(self) -> str:
        providers = self.providers if self.providers is not None else "the model's own"
        return f"web search via {self.model} (providers: {providers})"

    def _tool(self) -> Tool:
        if self.tool is None:
            from inspect_ai.tool import web_search

            self.tool = web_search(self.providers)
        return self.tool

    async def search(self, query: str, k: int) -> list[Passage]:
        """Run one search conversation and return up to `k` distinct cited passages, in the order found."""
        messages: list[ChatMessage] = [
            ChatMessageSystem(content=SEARCH_SYSTEM),
            ChatMessageUser(content=SEARCH_REQUEST.format(query=query)),
        ]
        conversation = await self._search_conversation(messages)
        self.searches += 1
        return passages_from_conversation(conversation)[:k]

    async def _search_conversation(self, messages: list[ChatMessage]) -> list[ChatMessage]:
        """The model's turns and tool results, looping while it calls tools (at most `max_turns` turns).

        Like Inspect's `generate_loop`, but bounded: a searcher that keeps calling the tool must not
        stall a build. Every turn goes through the generate cache, so a rerun repeats no search.
        """
        conversation: list[ChatMessage] = []
        stats = _active_stats.get()
        config = GenerateConfig(max_tokens=self.max_tokens, temperature=0.0)
        for _ in range(self.max_turns):
            if stats is not None:
                stats.requests += 1
            output = await self.model.generate(
                [*messages, *conversation], tools=[self._tool()], config=config, cache=CachePolicy(expiry=None)
            )
            conversation.append(output.message)
            if not output.message.tool_calls:
                break
            results, _ = await execute_tools([*messages, *conversation], [self._tool()])
            conversation.extend(results)
        return conversation


def passages_from_conversation(messages: list[ChatMessage]) -> list[Passage]:
    """Every cited search result in a conversation, deduplicated by (url, text)."""
    found: list[Passage] = []
    seen: set[tuple[str, str]] = set()

    def add(url: str | None, title: str | None, text: str | None) -> None:
        text = " ".join((text or "").split())
        if not url or not text or (url, text) in seen:
            return
        seen.add((url, text))
        source = Source(id="web-" + content_id(url, length=10), title=title or url, url=url, retriever="web")
        found.append(Passage(id=f"{source.id}#{len(found)}", source=source, text=text))

    for message in messages:
        if isinstance(message, ChatMessageTool | ChatMessageAssistant):
            contents = message.content if isinstance(message.content, list) else []
            for content in contents:
                for citation in getattr(content, "citations", None) or []:
                    cited = citation.cited_text if isinstance(citation.cited_text, str) else None
                    add(getattr(citation, "url", None), citation.title, cited)
                if isinstance(content, ContentToolUse) and content.tool_type == "web_search":
                    for url, title, text in _results_from_json(content.result):
                        add(url, title, text)
            if isinstance(message, ChatMessageTool) and isinstance(message.content, str):
                for url, title, text in _results_from_json(message.content):
                    add(url, title, text)
    return found


def _results_from_json(text: str) -> list[tuple[str | None, str | None, str | None]]:
    """Search results a provider returned as JSON (a list of {url, title, content|snippet|text})."""
    try:
        payload = json.loads(text)
    except (TypeError, ValueError):
        return []
    if isinstance(payload, dict):
        payload = payload.get("results") or payload.get("items") or []
    results = []
    for entry in payload if isinstance(payload, list) else []:
        if isinstance(entry, dict):
            snippet = entry.get("content") or entry.get("snippet") or entry.get("text") or entry.get("page_content")
            results.append((entry.get("url") or entry.get("link"), entry.get("title"), snippet))
    return results
