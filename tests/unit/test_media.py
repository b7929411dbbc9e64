"""Lesson images: judged by content, re-encoded without metadata, served with a long cache."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from app.authoring.importer import import_course_folder
from app.authoring.media import MediaRefused, check_image, publishable
from app.authoring.parse import read_course
from app.extensions import db
from app.models import Lesson, MediaFile


def png_bytes(size=(40, 20), **save) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, "navy").save(output, format="PNG", **save)
    return output.getvalue()


def jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (30, 30), "red")
    exif = Image.Exif()
    exif[0x010F] = "SecretCamera"  # Make
    exif[0x0131] = "GPS tagging software"  # Software
    output = io.BytesIO()
    image.save(output, format="JPEG", exif=exif.tobytes())
    return output.getvalue()


def test_images_are_judged_by_their_content_not_their_name():
    assert check_image("map.png", png_bytes()) == "PNG"
    with pytest.raises(MediaRefused, match="judged by its content"):
        check_image("map.png", b"<html><script>alert(1)</script></html>"[::-1])
    with pytest.raises(MediaRefused, match="SVG or HTML"):
        check_image("map.png", b"<html><body><script>alert(1)</script></body></html>")
    with pytest.raises(MediaRefused, match="SVG or HTML"):
        check_image("map.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>')
    with pytest.raises(MediaRefused, match="name ends in .png"):
        check_image("photo.png", jpeg_with_exif())
    with pytest.raises(MediaRefused, match="image names"):
        check_image("Map Of Routes.PNG", png_bytes())
    with pytest.raises(MediaRefused, match="at most 2 MiB"):
        check_image("big.png", b"\x89PNG" + b"0" * (2 * 1024 * 1024))


def test_published_images_carry_no_metadata():
    original = jpeg_with_exif()
    assert b"SecretCamera" in original
    published = publishable(original)
    assert b"SecretCamera" not in published.data and b"GPS tagging" not in published.data
    assert published.content_type == "image/jpeg"
    wide = publishable(png_bytes(size=(3000, 100)))
    assert wide.width == 2000


def copy_course(tmp_path: Path) -> Path:
    from tests.conftest import FIXTURE_COURSES

    target = tmp_path / "format-tour"
    shutil.copytree(FIXTURE_COURSES / "format-tour", target)
    return target


def test_the_checker_reports_missing_images_alt_text_and_fake_images(tmp_path):
    course = copy_course(tmp_path)
    lesson = course / "02-practice" / "01-scenario.md"
    lesson.write_text(
        lesson.read_text(encoding="utf-8")
        + "\n![](../media/three-elements.png)\n\n![A map](../media/missing.png)\n",
        encoding="utf-8",
    )
    (course / "media" / "fake.png").write_bytes(b"<!DOCTYPE html><html>hello</html>")
    _, problems = read_course(course)
    messages = [str(problem) for problem in problems]
    assert any("describe it in the [brackets]" in m for m in messages)
    assert any("../media/missing.png: no such image" in m for m in messages)
    assert any(m.startswith(f"{course}/media/fake.png:1: is SVG or HTML") for m in messages)


def test_an_imported_image_is_served_re_encoded_with_a_long_cache(client, app):
    from tests.conftest import FIXTURE_COURSES

    import_course_folder(db.session, FIXTURE_COURSES / "format-tour")
    db.session.commit()
    lesson = db.session.scalar(select(Lesson).where(Lesson.key == "basics/front-matter"))
    media = db.session.scalar(select(MediaFile))
    url = f"/media/{media.sha256}.png"
    assert f'src="{url}"' in lesson.body_html
    assert 'alt="Three boxes: the act, the means and the purpose"' in lesson.body_html
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert "immutable" in response.headers["Cache-Control"]
    assert client.get(f"/media/{'0' * 64}.png").status_code == 404
