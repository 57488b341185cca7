"""Recognising files by their bytes: for refusals that say what a file really is, and for piped
stdin, which has no name to go by."""

from __future__ import annotations

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")

_MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF file"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"RIFF", "a RIFF media file"),
    (b"\x7fELF", "a Linux program"),
    (b"MZ", "a Windows program"),
    (b"\xcf\xfa\xed\xfe", "a macOS program"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"{\\rtf", "an RTF document"),
    (b"ID3", "an MP3 audio file"),
    (b"OggS", "an Ogg media file"),
    (b"\x00\x00\x00\x18ftyp", "an MP4 video"),
    (b"\x00\x00\x00\x20ftyp", "an MP4 video"),
)


def describe_bytes(data: bytes) -> str:
    """A short phrase for what DATA looks like ("a PNG image"), for refusal messages."""
    if data.startswith(ZIP_MAGICS):
        from chatpro.files.ooxml import describe_zip

        ext = _zip_extension(data) if data[30:38] == b"mimetype" else None
        if ext is not None:
            return "an OpenDocument presentation" if ext == ".odp" else "an OpenDocument text"
        return describe_zip(data)
    if data.startswith(OLE2_MAGIC):
        return describe_ole(data)
    if data[4:8] == b"ftyp":
        return "an MP4/MOV media file"
    for magic, what in _MAGICS:
        if data.startswith(magic):
            return what
    if b"\x00" in data[:4096]:
        return "a binary file"
    return "a text file"


def describe_ole(data: bytes) -> str:
    """What an OLE2 compound file holds, by its stream names."""
    names = ole_stream_names(data)
    if names is None:
        return "a damaged Office 97-2003 file"
    if "encryptedpackage" in names:
        return "an encrypted Office file"
    if "worddocument" in names:
        return "a Word 97-2003 document"
    if "powerpoint document" in names:
        return "a PowerPoint 97-2003 file"
    if "workbook" in names or "book" in names:
        return "an Excel 97-2003 workbook"
    if "__properties_version1.0" in names:
        return "an Outlook message"
    return "an OLE2 compound file"


def ole_stream_names(data: bytes) -> set[str] | None:
    """Lower-case names of the top-level streams in an OLE2 file, or None if it won't open."""
    import io

    import olefile

    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            return {entry[0].lower() for entry in ole.listdir(streams=True, storages=True)}
    except Exception:  # noqa: BLE001 - olefile raises many types on damaged input
        return None


def sniff_document(data: bytes) -> str | None:
    """The document extension DATA's bytes show (".pdf", ".docx", ".pptx", ".doc", ".xlsx",
    ".odt", ".odp", ".rtf"), else None.

    Used for piped stdin: text is the caller's business, documents are recognised here. An OLE2
    file holding an encrypted package is reported as ".doc" so loading it refuses with the reason.
    """
    if data.startswith(b"%PDF-"):
        return ".pdf"
    if data.startswith(ZIP_MAGICS):
        return _zip_extension(data)
    if data.startswith(OLE2_MAGIC):
        names = ole_stream_names(data)
        if names is not None and ("worddocument" in names or "encryptedpackage" in names):
            return ".doc"
    if data.lstrip()[:5] == b"{\\rtf":
        return ".rtf"
    return None


_ODF_EXTENSIONS = {
    b"application/vnd.oasis.opendocument.text": ".odt",
    b"application/vnd.oasis.opendocument.presentation": ".odp",
}


def _zip_extension(data: bytes) -> str | None:
    # OpenDocument stores its mimetype first and uncompressed, so it is read without unzipping.
    if data[30:38] == b"mimetype":
        for mime, ext in _ODF_EXTENSIONS.items():
            if data[38:].startswith(mime) and data[38 + len(mime) : 39 + len(mime)] != b"-":
                return ext
        return None
    from chatpro.files.ooxml import describe_zip, package_extension

    found = package_extension(data)
    if found is None and describe_zip(data) == "an Excel workbook":
        return ".xlsx"
    return found
