"""NumPy views of Arrow arrays that do not import pandas (pyarrow's to_numpy does: ~0.5 s)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_NUMPY_TYPES = {
    pa.int8(): "int8",
    pa.int16(): "int16",
    pa.int32(): "int32",
    pa.int64(): "int64",
    pa.uint8(): "uint8",
    pa.uint16(): "uint16",
    pa.uint32(): "uint32",
    pa.uint64(): "uint64",
    pa.float32(): "float32",
    pa.float64(): "float64",
}


def numbers(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A read-only view of a number array's values (slots of missing values hold anything)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    dtype = np.dtype(_NUMPY_TYPES[array.type])
    data = array.buffers()[1]
    if data is None or len(array) == 0:
        return np.empty(0, dtype)
    return np.frombuffer(data, dtype, count=len(array), offset=array.offset * dtype.itemsize)


def valid(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """True where a value is present."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    bitmap = array.buffers()[0]
    if bitmap is None:
        return np.ones(len(array), bool)
    return _bits(bitmap, array.offset, len(array))


def booleans(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean array's values as NumPy (missing values read as False)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if len(array) == 0:
        return np.zeros(0, bool)
    found = _bits(array.buffers()[1], array.offset, len(array))
    return found & valid(array) if array.null_count else found


def _bits(buffer: pa.Buffer, offset: int, length: int) -> np.ndarray:
    unpacked = np.unpackbits(np.frombuffer(buffer, np.uint8), bitorder="little")
    return unpacked[offset : offset + length].astype(bool)
