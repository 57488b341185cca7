"""The type table: SPEC's supported extensions (the brief's 19 and the everyday types beyond it),
their MIME types and how each is read.

Kept as our own table rather than the system's `mimetypes`, whose answers vary by machine (on
some, `.ts` is a Qt translation file).
"""

from __future__ import annotations

from dataclasses import dataclass

from chatpro.errors import FileRefused


@dataclass(frozen=True)
class FileType:
    """One supported file type. `kind` picks the extractor: pdf, docx, pptx, doc, text, or one of
    the types beyond the brief: csv, xlsx, odt, odp, rtf, eml, ipynb."""

    extension: str
    mime: str
    label: str
    kind: str


_TABLE: tuple[FileType, ...] = (
    FileType(".cpp", "text/x-c++", "C++ source", "text"),
    FileType(".cs", "text/x-csharp", "C# source", "text"),
    FileType(".css", "text/css", "CSS stylesheet", "text"),
    FileType(".doc", "application/msword", "Word 97-2003 document", "doc"),
    FileType(
        ".docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Word document",
        "docx",
    ),
    FileType(".html", "text/html", "HTML document", "text"),
    FileType(".java", "text/x-java", "Java source", "text"),
    FileType(".js", "text/javascript", "JavaScript source", "text"),
    FileType(".json", "application/json", "JSON", "text"),
    FileType(".md", "text/markdown", "Markdown", "text"),
    FileType(".pdf", "application/pdf", "PDF", "pdf"),
    FileType(".php", "text/x-php", "PHP source", "text"),
    FileType(
        ".pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "PowerPoint",
        "pptx",
    ),
    FileType(".py", "text/x-python", "Python source", "text"),
    FileType(".rb", "text/x-ruby", "Ruby source", "text"),
    FileType(".sh", "application/x-sh", "Shell script", "text"),
    FileType(".tex", "text/x-tex", "LaTeX source", "text"),
    FileType(".ts", "application/typescript", "TypeScript source", "text"),
    FileType(".txt", "text/plain", "Plain text", "text"),
    # Beyond the brief: what freelancers are sent every day.
    FileType(".csv", "text/csv", "CSV table", "csv"),
    FileType(".tsv", "text/tab-separated-values", "TSV table", "csv"),
    FileType(
        ".xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Excel workbook",
        "xlsx",
    ),
    FileType(".odt", "application/vnd.oasis.opendocument.text", "OpenDocument text", "odt"),
    FileType(
        ".odp",
        "application/vnd.oasis.opendocument.presentation",
        "OpenDocument presentation",
        "odp",
    ),
    FileType(".rtf", "application/rtf", "RTF document", "rtf"),
    FileType(".eml", "message/rfc822", "Email message", "eml"),
    FileType(".c", "text/x-c", "C source", "text"),
    FileType(".h", "text/x-c", "C header", "text"),
    FileType(".hpp", "text/x-c++", "C++ header", "text"),
    FileType(".go", "text/x-go", "Go source", "text"),
    FileType(".rs", "text/x-rust", "Rust source", "text"),
    FileType(".kt", "text/x-kotlin", "Kotlin source", "text"),
    FileType(".swift", "text/x-swift", "Swift source", "text"),
    FileType(".scala", "text/x-scala", "Scala source", "text"),
    FileType(".sql", "application/sql", "SQL script", "text"),
    FileType(".yaml", "application/yaml", "YAML", "text"),
    FileType(".yml", "application/yaml", "YAML", "text"),
    FileType(".toml", "application/toml", "TOML", "text"),
    FileType(".xml", "application/xml", "XML document", "text"),
    FileType(".ipynb", "application/x-ipynb+json", "Jupyter notebook", "ipynb"),
)

SUPPORTED: dict[str, FileType] = {t.extension: t for t in _TABLE}

#: Other names some tools give the same types; accepted when a caller passes a MIME type.
MIME_ALIASES: dict[str, str] = {
    "text/x-script.python": ".py",
    "text/rtf": ".rtf",
    "text/x-chdr": ".h",
    "application/x-yaml": ".yaml",
    "text/xml": ".xml",
}

DOCUMENT_KINDS = frozenset({"pdf", "docx", "pptx", "doc", "xlsx", "odt", "odp", "rtf", "eml"})


def extension_of(name: str) -> str:
    """The lower-case extension of NAME (".pdf"), or "" when it has none."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in base.lstrip("."):
        return ""
    return "." + base.rsplit(".", 1)[1].lower()


def file_type_for(name: str) -> FileType:
    """The FileType for NAME by its extension (case-insensitive); FileRefused if unsupported."""
    ext = extension_of(name)
    found = SUPPORTED.get(ext)
    if found is None:
        what = f"unsupported file type '{ext}'" if ext else "no file extension"
        supported = ", ".join(sorted(SUPPORTED))
        raise FileRefused(f"{name}: {what} (supported: {supported})")
    return found
