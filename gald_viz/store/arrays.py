"""numpy arrays as SQLite values: dtype, shape and raw bytes, so a stored array reads back bit for bit."""

import json

import numpy as np


def encode(array: np.ndarray) -> tuple[str, str, bytes]:
    """``(dtype, shape, data)`` of an array: little-endian dtype string, JSON shape, C-order bytes.

    >>> encode(np.array([1, 2], dtype=np.int64))
    ('<i8', '[2]', b'\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x00')
    """
    a = np.asarray(array)
    a = a.astype(a.dtype.newbyteorder("<"), copy=False)
    return a.dtype.str, json.dumps(list(a.shape)), np.ascontiguousarray(a).tobytes()


def decode(dtype: str, shape: str, data: bytes) -> np.ndarray:
    """The array :func:`encode` wrote (a writable copy).

    >>> decode(*encode(np.eye(2))).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    return np.frombuffer(data, dtype=np.dtype(dtype)).reshape(json.loads(shape)).copy()
