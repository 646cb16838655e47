"""The inspectable text of one chat message, cut into segments with contract locators.

``text:I`` is the I-th block of the message's ``content`` (0-based, counting every block),
``tool_use:I`` the JSON input of the tool call in block I, ``tool_result:I/J`` the J-th text
item of the tool result in block I. Unknown block types are ignored, as the API asks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any


def message_segments(message: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Yield ``(locator, text)`` for every non-empty text of a message's content blocks."""
    for i, block in enumerate(message.get("content") or ()):
        kind = block.get("type")
        if kind == "text":
            text = block.get("text")
            if text:
                yield f"text:{i}", text
        elif kind == "tool_use":
            text = block.get("input")
            if text and not isinstance(text, str):  # tolerate a decoded object
                text = json.dumps(text, ensure_ascii=False)
            if text:
                yield f"tool_use:{i}", text
        elif kind == "tool_result":
            for j, item in enumerate(block.get("content") or ()):
                if isinstance(item, Mapping) and item.get("type") == "text" and item.get("text"):
                    yield f"tool_result:{i}/{j}", item["text"]


def message_text_bytes(message: Mapping[str, Any]) -> int:
    """UTF-8 size of everything ``message_segments`` yields (the message's ``bytes``)."""
    return sum(len(text.encode("utf-8")) for _, text in message_segments(message))
