"""The openai import with lazy type packages: same SDK, same types, less start-up work."""

from __future__ import annotations

import subprocess
import sys

from chatpro.lazy_openai import reexports


def test_reexports_reads_a_pure_initialiser():
    source = (
        "# generated\nfrom __future__ import annotations\n\n"
        "from .batch import Batch as Batch\n"
        "from .shared import (\n    Metadata as Metadata,\n    ChatModel as ChatModel,\n)\n"
    )
    assert reexports(source) == {
        "Batch": ("batch", "Batch"),
        "Metadata": ("shared", "Metadata"),
        "ChatModel": ("shared", "ChatModel"),
    }


def test_an_initialiser_that_does_more_is_imported_normally():
    assert reexports("from .a import B as B\nB.model_rebuild()\n") is None


def test_types_resolve_to_the_real_sdk_classes():
    code = (
        "from chatpro.lazy_openai import import_openai\n"
        "openai = import_openai()\n"
        "from openai.types.chat import ChatCompletionChunk\n"
        "assert openai.types.chat.ChatCompletionChunk is ChatCompletionChunk\n"
        "assert openai.types.Batch.__name__ == 'Batch'\n"
        "assert issubclass(openai.RateLimitError, openai.APIStatusError)\n"
        "chunk = ChatCompletionChunk.model_validate({'id': 'x', 'object': 'chat.completion.chunk',"
        " 'created': 0, 'model': 'm', 'choices': [{'index': 0, 'delta': {'content': 'hi'},"
        " 'finish_reason': None}]})\n"
        "assert chunk.choices[0].delta.content == 'hi'\n"
        "import sys\n"
        "print(sum(1 for m in sys.modules if m.startswith('openai.types.responses.')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
