"""Build NotoSerifCJKsc-Subset.ttf, the CJK face of the certificates.

The full Noto Serif CJK collection is 26 MB of CFF outlines, and a certificate needs
only the characters that names and course titles are written in. This script keeps:

- the Hanzi of GB 2312 (levels 1 and 2: 6,763 characters, mainland China),
- the Big5 level-1 "frequently used" Hanzi (5,401, Taiwan, Hong Kong, Macao),
- the JIS X 0208 level-1 Kanji (2,965, Japan),
- the 2,350 Hangul syllables of KS X 1001 (Korea),
- Hiragana, Katakana, CJK symbols and punctuation, full-width forms,

takes the Simplified Chinese face of the collection (font number 2), drops the
OpenType layout, vertical metrics and hinting (none of them is used on a
horizontal, unhinted PDF page, and without `locl` the glyph chosen for a character
never depends on the shaping language), and converts the cubic CFF outlines to
quadratic TrueType (glyf) ones so that the font is embedded as FontFile2 like the
others.

Run it from the repository root when the font or the character list changes:

    apt-get install fonts-noto-cjk
    .venv/bin/python app/certificates/fonts/build_cjk_subset.py \\
        /usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc

The output is deterministic for a given input file and fontTools version.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable

OUTPUT = Path(__file__).with_name("NotoSerifCJKsc-Subset.ttf")
SIMPLIFIED_CHINESE_FACE = 2  # JP, KR, SC, TC, HK in the Debian .ttc
# Largest distance, in font units (1,000 per em), between a cubic curve and its
# quadratic approximation: a thousandth of the type size, invisible at any size.
MAX_CURVE_ERROR = 1.0


def _double_byte_range(codec: str, first: int, last: int, candidates: range) -> set[int]:
    """Code points whose two-byte encoding in `codec` lies between `first` and `last`."""
    found = set()
    for cp in candidates:
        try:
            encoded = chr(cp).encode(codec)
        except UnicodeEncodeError:
            continue
        if len(encoded) == 2 and first <= int.from_bytes(encoded, "big") <= last:
            found.add(cp)
    return found


def character_set() -> set[int]:
    """The code points kept in the subset."""
    unified = range(0x3400, 0xA000)  # CJK Unified Ideographs and Extension A
    gb2312 = _double_byte_range("gb2312", 0xB0A1, 0xF7FE, unified)
    big5_level1 = _double_byte_range("big5", 0xA440, 0xC67E, unified)
    jis_level1 = _double_byte_range("euc_jp", 0xB0A1, 0xCFD3, unified)
    ks_hangul = _double_byte_range("euc_kr", 0xB0A1, 0xC8FE, range(0xAC00, 0xD7A4))
    kana = set(range(0x3041, 0x3097)) | set(range(0x3099, 0x3100)) | set(range(0x30A0, 0x3100))
    punctuation = set(range(0x3000, 0x3040)) | set(range(0xFF01, 0xFF66)) | {0x00B7, 0x2027}
    return gb2312 | big5_level1 | jis_level1 | ks_hangul | kana | punctuation


def _to_truetype_outlines(font: TTFont) -> None:
    """Replace the CFF table by a glyf table with the same glyphs, in place."""
    glyph_order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = glyph_order
    glyf.glyphs = {}
    for name in glyph_order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, MAX_CURVE_ERROR, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    del font["CFF "]
    font["loca"] = newTable("loca")
    font["glyf"] = glyf
    glyf.compile(font)
    hmtx = font["hmtx"]
    for name, glyph in glyf.glyphs.items():
        if hasattr(glyph, "xMin"):
            hmtx[name] = (hmtx[name][0], glyph.xMin)
    maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    maxp.maxZones = 1
    for field in (
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
        "maxComponentDepth",
    ):
        setattr(maxp, field, 0)
    font["maxp"] = maxp
    font["post"].formatType = 3.0  # no glyph names: fontTools derives them from the cmap
    font["head"].glyphDataFormat = 0
    font.sfntVersion = "\x00\x01\x00\x00"


def build(source: Path, output: Path = OUTPUT) -> None:
    """Write the subset of `source` (a Noto Serif CJK .ttc or .otf) to `output`."""
    font = TTFont(source, fontNumber=SIMPLIFIED_CHINESE_FACE, recalcTimestamp=False)
    options = subset.Options()
    options.layout_features = []
    options.hinting = False
    options.desubroutinize = True
    options.notdef_outline = True
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.drop_tables += ["VORG", "vhea", "vmtx", "GSUB", "GPOS", "GDEF", "BASE"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(character_set()))
    subsetter.subset(font)
    _to_truetype_outlines(font)
    font.save(output)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} NotoSerifCJK-Regular.ttc")
    build(Path(sys.argv[1]))
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size:,} bytes)")
