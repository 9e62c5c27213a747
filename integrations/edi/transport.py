"""How interchanges travel: a partner's drop folder read (the way a VAN or SFTP mailbox delivers),
and outbound files written to the partner's folder or posted, signed, to its endpoint."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from django.conf import settings
from django.db import transaction

from core.errors import TransientError

from ..client import SIGNATURE_HEADER, PermanentError, send, signature
from .models import Direction, Interchange, TradingPartner
from .services import edi_receive, edi_refuse, runs_flush, runs_gathered

logger = logging.getLogger(__name__)
#: Files read from a partner's folder are moved here (inside it), whatever became of them: the
#: outcome is on the interchange, and a file is never read twice nor deleted.
DONE = "processed"
#: Largest interchange taken from a folder or a post.
MAX_BYTES = 20_000_000
#: A poll queues the stream runs and the outbox relay its files ask for once every this many
#: files (and at its end), not once a file: a run applies whatever is waiting, so one a file
#: mostly found nothing, and a long poll still has its first files applied while it reads on.
FILES_PER_RUN = 20


def folder(name: str) -> Path:
    """A partner folder under O2C_EDI_DIR; a name that climbs out of it is refused."""
    root = Path(settings.O2C_EDI_DIR).resolve()
    path = (root / name).resolve()
    if root not in path.parents and path != root:
        raise PermanentError(f"folder “{name}” is outside O2C_EDI_DIR")
    return path


def poll_folder(partner: TradingPartner) -> dict[str, int]:
    """Take in every file waiting in the partner's inbound folder, oldest name first. Each file is
    its own transaction; it is moved to ``processed/`` only after that commits, so a crash in
    between reads it again, and the repeat changes nothing."""
    counts = {"files": 0, "refused": 0}
    if not partner.inbound_folder:
        return counts
    inbound = folder(partner.inbound_folder)
    done = inbound / DONE
    done.mkdir(parents=True, exist_ok=True)
    with runs_gathered():
        for path in sorted(
            p for p in inbound.iterdir() if p.is_file() and not p.name.startswith(".")
        ):
            _take_file(partner, path, done, counts)
            if counts["files"] % FILES_PER_RUN == 0:
                runs_flush()
    return counts


def _take_file(partner: TradingPartner, path: Path, done: Path, counts: dict[str, int]) -> None:
    """One file of the folder in its own transaction, then moved to ``done``."""
    try:
        size = path.stat().st_size
        raw = path.read_bytes() if size <= MAX_BYTES else b""
    except FileNotFoundError:
        return  # another poll of this folder took it (a manual sync beside the beat)
    try:
        with transaction.atomic():
            if size > MAX_BYTES:
                received = edi_refuse(
                    f"{size} bytes, more than the {MAX_BYTES} an interchange may have",
                    raw=f"(not kept: {size} bytes)", via="folder", file_name=path.name,
                    partner=partner,
                )  # fmt: skip
            else:
                received = edi_receive(raw=raw, via="folder", file_name=path.name, partner=partner)
    except Exception as exc:  # noqa: BLE001 - one bad file must not block the folder
        logger.exception("EDI file %s could not be taken in", path.name)
        with transaction.atomic():
            received = edi_refuse(
                f"could not be taken in: {type(exc).__name__}: {exc}"[:1000],
                raw=raw.decode("ascii", "replace"), via="folder", file_name=path.name,
                partner=partner,
            )  # fmt: skip
    counts["files"] += 1
    counts["refused"] += 1 if received.error else 0
    # the other poll may have moved it first; the repeat it read changed nothing
    with contextlib.suppress(FileNotFoundError):
        os.replace(path, _free_name(done, path.name))


def _free_name(folder_path: Path, name: str) -> Path:
    """``name`` in ``folder_path``, numbered when a file of that name is there already (a
    partner that reuses file names must not overwrite what it sent before)."""
    target = folder_path / name
    n = 1
    while target.exists():
        target = folder_path / f"{name}.{n}"
        n += 1
    return target


def deliver(payload: dict) -> dict:
    """Send one outbound interchange (an outbox message's payload); raises ``TransientError`` to
    retry and ``PermanentError`` for a dead letter."""
    partner = TradingPartner.objects.filter(name=payload["partner"]).first()
    if partner is None:
        raise PermanentError(f"no trading partner “{payload['partner']}”")
    text, name = payload["x12"], payload["file_name"]
    try:
        body = text.encode("ascii")
    except UnicodeEncodeError as exc:  # the writer keeps to ASCII; this would be a defect
        raise PermanentError(f"{name}: not ASCII at {exc.start}") from exc
    if partner.outbound_folder:
        target = folder(partner.outbound_folder)
        part = target / f".{name}.part"
        try:
            target.mkdir(parents=True, exist_ok=True)
            part.write_bytes(body)
            os.replace(part, target / name)  # the partner's reader never sees half a file
        except OSError as exc:  # a full disk, a missing mount: try again later
            raise TransientError(f"{partner.name}: {type(exc).__name__}: {exc}") from exc
        where = str(target / name)
    elif partner.endpoint_url:
        headers = {"Content-Type": "application/edi-x12"}
        signed = signature(partner.credentials_ref, body)
        if signed:
            headers[SIGNATURE_HEADER] = signed
        send("POST", partner.endpoint_url, who=partner.name, where=name, content=body,
             headers=headers)  # fmt: skip
        where = partner.endpoint_url
    else:
        raise PermanentError(f"{partner.name} has neither an outbound folder nor an endpoint")
    Interchange.objects.filter(pk=payload.get("interchange_id"), direction=Direction.OUT).update(
        state=Interchange.State.SENT
    )
    return {"reference": where}
