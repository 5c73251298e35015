"""Small builders shared by the tests."""

import numpy as np

from amgap.entropy import TableSet


def gauss_tables(n: int, sigma: float = 2.0, half: int = 12) -> TableSet:
    """``n`` identical, well-fitted factorized tables: discretized Gaussians over
    ``-half..half`` with a small escape mass (as a trained EntropyBottleneck has)."""
    from compressai._CXX import pmf_to_quantized_cdf
    from scipy.stats import norm

    xs = np.arange(-half, half + 1)
    pmf = norm.cdf((xs + 0.5) / sigma) - norm.cdf((xs - 0.5) / sigma)
    cdf = np.asarray(pmf_to_quantized_cdf([*pmf.tolist(), 1 - pmf.sum()], 16), dtype=np.int32)
    return TableSet(np.tile(cdf, (n, 1)), np.full(n, len(cdf), np.int32),
                    np.full(n, -half, np.int32), "factorized")


def raw_y4m(path, width: int, height: int, colourspace: str, frames, dtype=np.uint8) -> None:
    """Write a Y4M by hand (planes as given), to test the reader independently."""
    with open(path, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{width} H{height} F25:1 Ip C{colourspace}\n".encode())
        for planes in frames:
            fh.write(b"FRAME\n")
            for p in planes:
                fh.write(np.asarray(p, dtype=dtype).tobytes())


def raw_png(path, arr, color_type: int, bitdepth: int) -> None:
    """Write a PNG by hand (no filter, one IDAT): any colour type and bit depth, including
    the 16-bit colour forms Pillow cannot write. ``arr`` is ``[H, W]`` or ``[H, W, C]``."""
    import struct
    import zlib

    arr = np.asarray(arr)
    h, w = arr.shape[:2]
    dt = ">u2" if bitdepth == 16 else "u1"
    rows = b"".join(b"\x00" + np.ascontiguousarray(arr[i]).astype(dt).tobytes()
                    for i in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data)))

    ihdr = struct.pack(">IIBBBBB", w, h, bitdepth, color_type, 0, 0, 0)
    with open(path, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows))
                 + chunk(b"IEND", b""))
