"""Metadata out of images before they are stored: a shopper's phone photo of a broken parcel carries
the GPS position of their home, the phone's serial number and the time it was taken (EXIF, XMP,
IPTC, comments). The pixels are kept as they are (no re-encoding, no quality lost): the metadata
segments are cut out of the file's structure. Kept: what draws the picture right, i.e. the colour
profile (ICC), JFIF/Adobe markers and, for JPEG, the orientation, written back as the only EXIF tag.
GIF keeps its comment and application blocks (rarely anything personal; noted in docs/attachments.md).
A file whose structure does not parse as expected is re-encoded from its decoded pixels instead."""
from __future__ import annotations

import io
import struct

from PIL import Image, ImageOps

_ORIENTATION = 0x0112


def strip(data: bytes, fmt: str, im: Image.Image) -> bytes:
    """The file without its metadata. `im` is the decoded image (for the orientation, and the
    re-encoding fallback)."""
    try:
        if fmt == "JPEG":
            return _jpeg(data, im.getexif().get(_ORIENTATION, 1))
        if fmt == "PNG":
            return _png(data)
        if fmt == "WEBP":
            return _webp(data)
    except (ValueError, IndexError, struct.error):
        return _reencode(im, fmt)
    return data


def _jpeg(data: bytes, orientation: int) -> bytes:
    # Kept: APP0 (JFIF), APP2 when it is an ICC profile, APP14 (Adobe colour transform); the rest
    # of APP1-APP15 (EXIF, XMP, IPTC, maker notes) and COM go. Everything from SOS on is copied.
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    out, pos = [b"\xff\xd8"], 2
    wrote_orientation = orientation in (1, None)
    while True:
        if data[pos] != 0xFF:
            raise ValueError("bad marker")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan: the compressed image follows
            if not wrote_orientation:
                out.append(_exif_orientation(orientation))
            out.append(data[pos:])
            return b"".join(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out.append(data[pos:pos + 2])
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if length < 2 or pos + 2 + length > len(data):
            raise ValueError("bad segment length")
        segment = data[pos:pos + 2 + length]
        payload = segment[4:]
        keep = (marker == 0xE0 or marker == 0xEE or (marker == 0xE2 and payload.startswith(b"ICC_PROFILE\0"))
                or not (0xE1 <= marker <= 0xEF or marker == 0xFE))
        if keep:
            out.append(segment)
            if marker == 0xE0 and not wrote_orientation:  # right after JFIF, where EXIF would be
                out.append(_exif_orientation(orientation))
                wrote_orientation = True
        pos += 2 + length


def _exif_orientation(orientation: int) -> bytes:
    """An APP1 EXIF segment holding only the orientation tag (big-endian TIFF, one IFD entry)."""
    ifd = struct.pack(">H", 1) + struct.pack(">HHIHH", _ORIENTATION, 3, 1, int(orientation), 0) + struct.pack(">I", 0)
    body = b"Exif\0\0" + b"MM\0*" + struct.pack(">I", 8) + ifd
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


_PNG_DROP = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}


def _png(data: bytes) -> bytes:
    out, pos = [data[:8]], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise ValueError("bad chunk length")
        if kind not in _PNG_DROP:
            out.append(data[pos:end])
        pos = end
        if kind == b"IEND":
            break
    return b"".join(out)


def _webp(data: bytes) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WebP")
    chunks, pos = [], 12
    while pos + 8 <= len(data):
        kind = data[pos:pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4:pos + 8])
        end = pos + 8 + size + (size & 1)
        if end > len(data) + (size & 1):
            raise ValueError("bad chunk size")
        chunk = data[pos:end]
        if kind == b"VP8X":  # clear the "has EXIF" (0x08) and "has XMP" (0x04) flags
            chunk = chunk[:8] + bytes([chunk[8] & ~0x0C]) + chunk[9:]
        if kind not in (b"EXIF", b"XMP "):
            chunks.append(chunk)
        pos = end
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _reencode(im: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    im = ImageOps.exif_transpose(im)  # upright, as the orientation tag would have drawn it
    if fmt == "JPEG":
        im.convert("RGB").save(out, "JPEG", quality=92)
    else:
        im.save(out, fmt)
    return out.getvalue()
