"""Emails (.eml, RFC 822/5322): the headers a reader checks, the text body, and each attachment
of a supported type extracted through the same loader as any file, with its own checks.

Parsed with the stdlib's email package (policy.default decodes encoded words, quoted-printable
and base64, and charsets). The body is the text/plain part, or the text/html part turned to
text when there is no plain one.
"""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser

from chatpro.errors import FileRefused
from chatpro.files.common import Extracted, TextBuilder

HEADERS = ("From", "To", "Cc", "Date", "Subject")

MAX_HEADER_CHARS = 16_384
"""A header value is parsed up to this many characters: the stdlib's header parser slows down
faster than the header grows (one 8 MB Subject took minutes and 1 GB)."""


class _BoundedPolicy(policy.EmailPolicy):
    """policy.default, with each header value cut at MAX_HEADER_CHARS before it is parsed."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        if len(value) > MAX_HEADER_CHARS:
            value = value[:MAX_HEADER_CHARS]
        return super().header_fetch_parse(name, value)  # type: ignore[no-any-return]


_POLICY = _BoundedPolicy()

MAX_LINES = 400_000
"""Lines of a message given to the stdlib's parser, which keeps each as a string of its own: a
10 MiB message of blank lines or quoted-printable soft breaks would cost seconds and hundreds
of MiB. A real message with a 10 MiB attachment has about 140,000 lines of base64."""

MAX_ATTACHMENTS = 100
"""Attachments extracted; the rest are counted in a notice (each costs a loader's work)."""
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:", re.MULTILINE)
_KNOWN_HEADERS = re.compile(
    rb"^(from|to|subject|date|received|message-id|mime-version|return-path|delivered-to|cc|"
    rb"reply-to|content-type|x-[!-9;-~]+):",
    re.IGNORECASE | re.MULTILINE,
)


def looks_like_email(data: bytes) -> bool:
    """Whether DATA starts with a header block that names at least two mail headers."""
    head = data[:16384].lstrip()
    if head.startswith(b"From ") and b"\n" in head:  # an mbox "From " line
        head = head.split(b"\n", 1)[1]
    end = re.search(rb"\r?\n\r?\n", head)
    block = head[: end.start()] if end else head
    if not _HEADER_LINE.match(block):
        return False
    return len({m.group(1).lower() for m in _KNOWN_HEADERS.finditer(block)}) >= 2


def _part_text(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, ValueError, AssertionError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def html_to_text(html: str) -> str:
    """The text an HTML body shows: block elements end lines, scripts and styles are dropped."""
    from html.parser import HTMLParser

    class _Text(HTMLParser):
        BLOCKS = frozenset(
            [
                "p",
                "div",
                "br",
                "tr",
                "li",
                "h1",
                "h2",
                "h3",
                "h4",
                "h5",
                "h6",
                "table",
                "ul",
                "ol",
                "blockquote",
                "pre",
                "hr",
                "section",
            ]
        )

        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.out: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in ("script", "style", "head", "title"):
                self.skip += 1
            elif tag in self.BLOCKS:
                self.out.append("\n")
                if tag == "li":
                    self.out.append("- ")
            elif tag in ("td", "th"):
                self.out.append(" | ")

        def handle_endtag(self, tag: str) -> None:
            if tag in ("script", "style", "head", "title"):
                self.skip = max(0, self.skip - 1)
            elif tag in self.BLOCKS:
                self.out.append("\n")

        def handle_data(self, data: str) -> None:
            if not self.skip:
                self.out.append(re.sub(r"\s+", " ", data))

    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (line.strip() for line in "".join(parser.out).split("\n"))
    return "\n".join(lines)


def _size(n: int) -> str:
    return f"{n:,} bytes" if n < 1024 * 1024 else f"{n / (1024 * 1024):.1f} MiB"


def extract_eml(data: bytes, name: str, depth: int = 0) -> Extracted:
    from chatpro.files.text import decode_text

    if not looks_like_email(data):
        if data.startswith((b"%PDF-", b"PK\x03\x04")) or b"\x00" in data[:4096]:
            from chatpro.files.sniff import describe_bytes

            raise FileRefused(f"{name}: not an email (it looks like {describe_bytes(data)})")
        decode_text(data, name)
        raise FileRefused(f"{name}: not an email (no mail headers such as From: and Subject:)")
    notices: list[str] = []
    end = _end_of_lines(data, MAX_LINES)
    if end < len(data):
        data = data[:end]
        notices.append(f"the message was cut at {MAX_LINES:,} lines")
    try:
        message = BytesParser(policy=_POLICY).parsebytes(data)
    except Exception:  # noqa: BLE001 - the parser is lenient; anything it raises is damage
        raise FileRefused(f"{name}: corrupt email (it could not be parsed)") from None
    assert isinstance(message, EmailMessage)
    builder = TextBuilder()
    for header, raw in message.raw_items():
        if header.title() in HEADERS and len(raw) > MAX_HEADER_CHARS:
            notices.append(f"header {header.title()} cut at {MAX_HEADER_CHARS:,} characters")
    for header in HEADERS:
        try:
            value = message.get(header)
        except Exception:  # noqa: BLE001 - a malformed header is left out, not fatal
            value = None
        if value:
            builder.line(f"{header}: {' '.join(str(value).split())}")
    builder.line("")
    body = _body(message)
    for line in body.splitlines():
        builder.line(line)
    seen = 0
    for part in message.iter_attachments():
        if builder.full:
            break
        seen += 1
        if seen <= MAX_ATTACHMENTS:
            _attachment(part, builder, notices, depth)
    if seen > MAX_ATTACHMENTS:
        notices.append(
            f"only the first {MAX_ATTACHMENTS:,} of {seen:,} attachments are read "
            "(save the others and send them on their own)"
        )
    return Extracted(builder.text(), builder.truncated, notices=tuple(notices))


def _end_of_lines(data: bytes, count: int) -> int:
    """Where DATA's first COUNT lines end (len(DATA) when it has no more)."""
    if data.count(b"\n") <= count:
        return len(data)
    pos = 0
    for _ in range(count):
        pos = data.index(b"\n", pos) + 1
    return pos


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _part_text(part)
    if part.get_content_subtype() == "html":
        return html_to_text(text)
    return text


def _attachment(part: Message, builder: TextBuilder, notices: list[str], depth: int) -> None:
    from chatpro import files
    from chatpro.files.types import extension_of

    filename = part.get_filename() or ""
    if not filename and part.get_content_type() == "message/rfc822":
        filename = "attached-message.eml"
    filename = " ".join(filename.replace("/", "_").replace("\\", "_").split()) or "unnamed"
    builder.line("")
    builder.line(f"## Attachment: {filename}")
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        inner_msg = inner[0] if isinstance(inner, list) and inner else None
        payload = inner_msg.as_bytes() if isinstance(inner_msg, Message) else b""
    else:
        raw = part.get_payload(decode=True)
        payload = raw if isinstance(raw, bytes) else b""
    ext = extension_of(filename)
    if ext not in files.SUPPORTED:
        what = f"'{ext}' files" if ext else "files without an extension"
        builder.line(f"(not extracted: {what} are not supported; {_size(len(payload))})")
        notices.append(f"attachment {filename} not extracted ({what} are not supported)")
        return
    if depth + 1 > files._MAX_NESTING:
        builder.line("(not extracted: attached too deep inside other emails)")
        notices.append(f"attachment {filename} not extracted (nested too deep)")
        return
    try:
        attached = files._load(payload, filename, None, depth + 1)
    except FileRefused as exc:
        reason = exc.message.removeprefix(f"{filename}: ")
        builder.line(f"(not extracted: {reason})")
        notices.append(f"attachment {exc.message}")
        return
    for line in attached.text.splitlines():
        builder.line(line)
    notices.extend(f"attachment {filename}: {n}" for n in attached.notices)
    if attached.truncated:
        notices.append(f"attachment {filename}: its text was cut at the limit")
