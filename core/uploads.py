"""Files people attach as evidence (cases, holds, orders): the checks every upload passes before
it is stored (name, type by extension and by content, size), its stored name, and the download
response (always a download, never a page of o2c). Imports no app."""

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.http import FileResponse, Http404

from .errors import ApplicationError

#: How much of a file is read to recognise its type: every signature below fits in it.
_HEAD = 2048

_ZIP = (b"PK\x03\x04",)  # Office Open XML (xlsx, docx) is a zip
_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)  # old Office files and Outlook's .msg

#: The leading bytes a file of each extension starts with. An extension without an entry here
#: is text (csv, txt, eml): accepted if its start holds no NUL byte, which every binary format
#: above (and executables, archives) has. A file that lies about its type is refused.
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "tif": (b"II*\x00", b"MM\x00*"),
    "tiff": (b"II*\x00", b"MM\x00*"),
    "xlsx": _ZIP,
    "docx": _ZIP,
    "xls": _OLE,
    "msg": _OLE,
}
TEXT_TYPES = frozenset({"csv", "txt", "eml"})

#: What a note's thread on a hold or an order takes: documents, images, text and mail.
NOTE_ATTACHMENT_TYPES = frozenset({"pdf", "png", "jpg", "jpeg", "gif", "txt", "eml", "msg"})


@dataclass(frozen=True)
class CheckedUpload:
    name: str  # the file's own name, for the download
    extension: str
    size: int
    sha256: str

    def stored_name(self) -> str:
        """A generated name: the uploader's file name never becomes a path on the server, and
        a random one cannot be guessed from another file's."""
        return f"{uuid.uuid4().hex}.{self.extension}"


def _matches(extension: str, head: bytes) -> bool:
    if extension in TEXT_TYPES:
        return b"\x00" not in head
    signatures = SIGNATURES.get(extension)
    return signatures is None or head.startswith(signatures)


def check_upload(upload, *, allowed: frozenset[str], limit: int, where: str) -> CheckedUpload:
    """The upload's name, type and size checked, or a clear ApplicationError on the ``file``
    field (nothing is stored either way). ``where`` names what takes files, for the message:
    "cases", "notes"."""
    name = Path(upload.name or "").name.strip()[:200]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not name or extension not in allowed:
        raise ApplicationError(
            f"“{name or 'That file'}” is not a type {where} take; attach one of "
            f"{', '.join(sorted(allowed))}.",
            {"field": "file"},
        )
    if not upload.size:
        raise ApplicationError(f"“{name}” is empty.", {"field": "file"})
    if upload.size > limit:
        raise ApplicationError(
            f"“{name}” is {upload.size / 1_048_576:.1f} MB; the limit is "
            f"{limit / 1_048_576:.0f} MB.",
            {"field": "file"},
        )
    digest, head = hashlib.sha256(), b""
    for chunk in upload.chunks():
        if len(head) < _HEAD:
            head += chunk[: _HEAD - len(head)]
        digest.update(chunk)
    upload.seek(0)
    if not _matches(extension, head):
        raise ApplicationError(
            f"“{name}” is not what its name says: its contents are not a .{extension} file.",
            {"field": "file"},
        )
    return CheckedUpload(
        name=name, extension=extension, size=upload.size, sha256=digest.hexdigest()
    )


def download_response(file, *, filename: str) -> FileResponse:
    """Send a stored file as a download under its own name: a generic type and ``nosniff``, so
    a browser never renders an uploaded file as a page (or runs it) on o2c's origin."""
    try:
        handle = file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is missing from storage; tell an administrator.") from None
    response = FileResponse(
        handle, as_attachment=True, filename=filename, content_type="application/octet-stream"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
