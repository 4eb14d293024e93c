"""What a file is, decided from its bytes (magic numbers, then Pillow for images), never from its
name or the Content-Type a client claims. Only PNG, JPEG, GIF, WebP and PDF pass; SVG (it can hold
scripts), HTML and everything else are refused. Images are decoded once here, under a pixel limit,
so a decompression bomb or a corrupt file is refused before it is stored, the thumbnail is made and
the metadata (GPS position, camera, comments) is cut out."""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from attachments import metadata

THUMB_BOX = (320, 320)
# (magic prefix, Pillow's format name, content type, extension)
IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG", "image/png", "png"),
    (b"\xff\xd8\xff", "JPEG", "image/jpeg", "jpg"),
    (b"GIF87a", "GIF", "image/gif", "gif"),
    (b"GIF89a", "GIF", "image/gif", "gif"),
)
ALLOWED = "images (PNG, JPEG, GIF, WebP) and PDF files"


class Refused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Sniffed:
    kind: str  # image | pdf
    content_type: str
    extension: str
    width: int | None = None
    height: int | None = None
    thumb: bytes | None = None
    thumb_type: str | None = None
    clean: bytes | None = None  # an image's bytes without its metadata (attachments/metadata.py): what is stored


def sniff(data: bytes, *, max_pixels: int) -> Sniffed:
    """The file's type from its content, checked; raises Refused with a message for the visitor."""
    if not data:
        raise Refused("empty_file", "the file is empty")
    if data.startswith(b"%PDF-"):
        return Sniffed("pdf", "application/pdf", "pdf")
    for magic, fmt, ctype, ext in IMAGE_MAGIC:
        if data.startswith(magic):
            return _image(data, fmt, ctype, ext, max_pixels)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _image(data, "WEBP", "image/webp", "webp", max_pixels)
    raise Refused("unsupported_type", f"this kind of file can't be sent; send {ALLOWED}")


def _image(data: bytes, fmt: str, ctype: str, ext: str, max_pixels: int) -> Sniffed:
    # Pillow's own guard too (it raises past twice the limit, warns past it: both refused here).
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=[fmt])
            width, height = im.size
            if width * height > max_pixels:  # read from the header, before any pixel is decoded
                raise Image.DecompressionBombError("too many pixels")
            im.load()  # the whole first frame: truncated or corrupt data fails here
            thumb, thumb_type = _thumbnail(im)
            clean = metadata.strip(data, fmt, im)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused("image_too_large", f"the image has too many pixels (at most {max_pixels:,})") from None
    except (OSError, SyntaxError, ValueError, Image.UnidentifiedImageError, EOFError):
        raise Refused("bad_image", "the image could not be read; it may be damaged") from None
    return Sniffed("image", ctype, ext, width, height, thumb, thumb_type, clean)


def _thumbnail(im: Image.Image) -> tuple[bytes, str]:
    """A small copy for the transcript: upright (EXIF orientation), without metadata, PNG when it
    has transparency, else JPEG."""
    small = ImageOps.exif_transpose(im.copy())
    small.thumbnail(THUMB_BOX)
    out = io.BytesIO()
    if small.mode in ("RGBA", "LA", "P", "PA") and ("A" in small.mode or "transparency" in small.info):
        small.convert("RGBA").save(out, "PNG", optimize=True)
        return out.getvalue(), "image/png"
    small.convert("RGB").save(out, "JPEG", quality=82)
    return out.getvalue(), "image/jpeg"
