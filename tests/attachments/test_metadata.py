"""Images lose their metadata before they are stored (attachments/metadata.py): a phone photo's GPS
position, camera serial, XMP and comments go; the pixels, the colour profile and the orientation
stay. Also through the upload route: what is served back is the cleaned file."""
import io

from PIL import Image, ImageCms

from attachments.metadata import strip
from attachments.sniff import sniff
from tests.attachments import files
from tests.attachments.test_http import app, chat_with, get, visitor_upload  # noqa: F401 - the fixture

SECRET = "maria.jensen@example.com"
GPS_IFD, EXIF_IFD = 0x8825, 0x8769
XMP = (b'<?xpacket begin=""?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
       b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>' + SECRET.encode() + b'</dc:creator>'
       b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')


def _picture(mode: str = "RGB") -> Image.Image:
    im = Image.new(mode, (64, 48))
    im.putdata([((x * 4) % 256, (y * 5) % 256, 90) + ((200,) if mode == "RGBA" else ()) for y in range(48) for x in range(64)])
    return im


def _exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[0x0131] = SECRET  # Software: any text a tool wrote
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (52.0, 5.0, 30.0), 3: "E", 4: (5.0, 7.0, 12.0)})
    exif.get_ifd(EXIF_IFD)[0xA431] = "SERIAL-123456"  # BodySerialNumber
    return exif


def phone_jpeg() -> bytes:
    out = io.BytesIO()
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    _picture().save(out, "JPEG", quality=95, exif=_exif(), icc_profile=icc, comment=SECRET.encode())
    data = out.getvalue()
    # an XMP APP1 segment after the EXIF one, as cameras write it
    xmp = b"http://ns.adobe.com/xap/1.0/\0" + XMP
    return data[:2] + b"\xff\xe1" + (len(xmp) + 2).to_bytes(2, "big") + xmp + data[2:]


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        return im.convert("RGBA").tobytes()


def test_a_phone_jpeg_keeps_its_pixels_profile_and_orientation_only():
    data = phone_jpeg()
    assert SECRET.encode() in data and b"SERIAL-123456" in data and b"PhoneMaker" in data
    clean = sniff(data, max_pixels=10_000_000).clean
    for secret in (SECRET.encode(), b"SERIAL-123456", b"PhoneMaker", b"ns.adobe.com/xap", b"xmpmeta"):
        assert secret not in clean, secret
    assert pixels(clean) == pixels(data)  # not re-encoded
    with Image.open(io.BytesIO(clean)) as im:
        exif = im.getexif()
        assert dict(exif) == {0x0112: 6}
        assert not exif.get_ifd(GPS_IFD) and not exif.get_ifd(EXIF_IFD)
        assert im.info.get("icc_profile")  # colours drawn as before
        assert "comment" not in im.info


def test_a_jpeg_without_orientation_gets_no_exif_at_all():
    out = io.BytesIO()
    exif = _exif(1)
    _picture().save(out, "JPEG", exif=exif)
    clean = strip(out.getvalue(), "JPEG", Image.open(io.BytesIO(out.getvalue())))
    assert b"Exif" not in clean and pixels(clean) == pixels(out.getvalue())


def test_png_text_chunks_and_exif_go():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SECRET)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    info.add_text("Author", SECRET, zip=True)
    out = io.BytesIO()
    _picture("RGBA").save(out, "PNG", pnginfo=info, exif=_exif())
    data = out.getvalue()
    assert SECRET.encode() in data
    clean = sniff(data, max_pixels=10_000_000).clean
    assert SECRET.encode() not in clean and b"eXIf" not in clean and b"iTXt" not in clean and b"zTXt" not in clean
    assert pixels(clean) == pixels(data)
    assert strip(files.png(), "PNG", Image.open(io.BytesIO(files.png()))) == files.png()  # nothing to cut


def test_webp_exif_and_xmp_go():
    out = io.BytesIO()
    _picture("RGBA").save(out, "WEBP", lossless=True, exif=_exif(), xmp=XMP)
    data = out.getvalue()
    assert SECRET.encode() in data and b"EXIF" in data
    clean = sniff(data, max_pixels=10_000_000).clean
    assert SECRET.encode() not in clean and b"EXIF" not in clean and b"XMP " not in clean
    assert pixels(clean) == pixels(data)
    assert int.from_bytes(clean[4:8], "little") == len(clean) - 8
    with Image.open(io.BytesIO(clean)) as im:
        assert not im.getexif()


async def test_the_stored_and_served_photo_has_no_gps(app):  # noqa: F811 - the fixture
    cid, token = await chat_with(app, "alex@shop.example")
    data = phone_jpeg()
    r = await visitor_upload(app, token, data, "parcel.jpg")
    assert r.status_code == 200, r.text
    att = r.json()["message"]["attachment"]
    served = (await get(app, f"/api/attachments/{att['id']}", token=token)).content
    assert SECRET.encode() not in served and b"SERIAL-123456" not in served
    assert att["size"] == len(served) < len(data)
    with Image.open(io.BytesIO(served)) as im:
        assert not im.getexif().get_ifd(GPS_IFD)
    assert pixels(served) == pixels(data)
