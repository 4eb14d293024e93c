"""The type of a file is read from its bytes: images and PDFs pass (with a thumbnail for images),
everything else, and every hostile image, is refused with a clear code."""
import io

import pytest
from PIL import Image

from attachments.service import clean_name
from attachments.sniff import Refused, sniff
from tests.attachments import files

LIMIT = 40_000_000


@pytest.mark.parametrize("data,ctype", [(files.png(), "image/png"), (files.jpeg(), "image/jpeg"),
                                        (files.gif(), "image/gif"), (files.webp(), "image/webp")])
def test_images_pass_with_a_small_thumbnail(data, ctype):
    found = sniff(data, max_pixels=LIMIT)
    assert (found.kind, found.content_type) == ("image", ctype)
    thumb = Image.open(io.BytesIO(found.thumb))
    assert max(thumb.size) <= 320 and found.thumb_type in ("image/png", "image/jpeg")
    assert found.width * found.height == Image.open(io.BytesIO(data)).size[0] * Image.open(io.BytesIO(data)).size[1]


def test_a_pdf_passes_without_thumbnail():
    found = sniff(files.pdf(), max_pixels=LIMIT)
    assert (found.kind, found.content_type, found.thumb) == ("pdf", "application/pdf", None)


@pytest.mark.parametrize("data,code", [
    (files.SVG_WITH_SCRIPT, "unsupported_type"),
    (files.HTML_AS_PNG, "unsupported_type"),
    (b"", "empty_file"),
    (b"PK\x03\x04 a zip file", "unsupported_type"),
    (files.truncated_png(), "bad_image"),
    (b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script>", "bad_image"),  # PNG magic, HTML inside
])
def test_anything_else_is_refused(data, code):
    with pytest.raises(Refused) as exc:
        sniff(data, max_pixels=LIMIT)
    assert exc.value.code == code and exc.value.message


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    import resource
    bomb = files.bomb_png()
    assert len(bomb) < 2_000_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(Refused) as exc:
        sniff(bomb, max_pixels=LIMIT)
    assert exc.value.code == "image_too_large"
    # 900 million pixels were never decoded (that would be >= 110 MB even at one bit a pixel)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB
    # the limit is the setting: below it the same kind of image passes
    with pytest.raises(Refused):
        sniff(files.png(100, 100), max_pixels=9_999)
    assert sniff(files.png(100, 100), max_pixels=10_000).kind == "image"


@pytest.mark.parametrize("raw,ext,expected", [
    ("photo.png", "png", "photo.png"),
    ("../../etc/passwd", "pdf", "passwd.pdf"),
    ("C:\\Users\\me\\report.html", "pdf", "report.html.pdf"),
    ('evil"name\r\n.png', "png", "evil_name_.png"),
    ("IMG.JPEG", "jpg", "IMG.JPEG"),
    ("", "gif", "file.gif"),
    (None, "pdf", "file.pdf"),
])
def test_names_are_made_safe_and_carry_the_real_type(raw, ext, expected):
    assert clean_name(raw, ext) == expected
