"""Courses as zip files: read an upload safely, write any version back byte for byte.

An upload is refused whole, with the reason, when an entry leaves its folder (`../`, an
absolute path), is a symbolic link, or the archive would unpack to far more than it weighs
(a zip bomb). Nothing is written to disk: the files go straight into a CourseTree.
"""

from __future__ import annotations

import io
import posixpath
import stat
import zipfile
from collections.abc import Iterable

from app.authoring.parse import CourseTree

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_ENTRIES = 1000
# What the entries may unpack to, all together; each entry is read no further than its
# declared size, so a header that understates it cannot smuggle more (zip bombs stop here).
MAX_UNPACKED_BYTES = 60 * 1024 * 1024
# Every entry carries the same date, so the same files always make the same zip.
FIXED_DATE = (2000, 1, 1, 0, 0, 0)


class ArchiveRefused(ValueError):
    """The upload is not a course zip the portal accepts; the message says why."""


def _safe_name(name: str) -> str:
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ArchiveRefused(f"the zip entry {name!r} has an absolute or Windows path")
    normalised = posixpath.normpath(name)
    if normalised.startswith("..") or "/../" in f"/{name}/":
        raise ArchiveRefused(f"the zip entry {name!r} points outside its folder")
    return normalised


def tree_from_zip(data: bytes, *, fallback_slug: str) -> tuple[str, CourseTree]:
    """(course slug, files) of an uploaded zip of a course folder."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ArchiveRefused(f"the zip is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ArchiveRefused("the file is not a zip archive") from None
    if len(entries) > MAX_ENTRIES:
        raise ArchiveRefused(f"the zip holds more than {MAX_ENTRIES} entries")
    files: dict[str, zipfile.ZipInfo] = {}
    declared = 0
    for entry in entries:
        name = _safe_name(entry.filename)
        mode = entry.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ArchiveRefused(f"the zip entry {entry.filename!r} is a symbolic link")
        if entry.is_dir():
            continue
        if entry.flag_bits & 0x1:
            raise ArchiveRefused("the zip is encrypted")
        declared += entry.file_size
        if declared > MAX_UNPACKED_BYTES:
            raise ArchiveRefused(
                f"the zip would unpack to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MiB "
                "(a zip bomb?)"
            )
        files[name] = entry
    tops = {name.split("/", 1)[0] for name in files}
    nested = all("/" in name for name in files)
    strip = len(tops) == 1 and nested and "course.md" not in files
    slug = next(iter(tops)) if strip else fallback_slug
    tree = CourseTree()
    for name, entry in files.items():
        with archive.open(entry) as handle:
            # Read one byte past what the header claims: a header that lies is caught.
            content = handle.read(entry.file_size + 1)
        if len(content) != entry.file_size:
            raise ArchiveRefused(f"the zip entry {entry.filename!r} is not what it claims")
        relative = name.split("/", 1)[1] if strip else name
        if any(part.startswith(".") for part in relative.split("/")):
            continue  # .DS_Store, .git and friends
        if relative.startswith("__MACOSX/"):
            continue
        tree.files[relative] = content
    return slug, tree


def zip_of_files(slug: str, files: Iterable[tuple[str, bytes]]) -> bytes:
    """A deterministic zip of a course folder named `slug`: same files, same bytes."""
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, content in sorted(files):
            info = zipfile.ZipInfo(f"{slug}/{path}", date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, content)
    return output.getvalue()
