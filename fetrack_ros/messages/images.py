"""Image messages <-> numpy (no cv_bridge), for the node, bag readers and converters.

Works on rclpy messages and on ``rosbags`` messages alike (duck-typed on the fields):

- ``sensor_msgs/Image`` (any encoding ``rosbags-image`` knows: rgb8, bgr8, rgba8, bgra8, mono8,
  mono16, bayer_*, yuv422 variants, ...) and ``sensor_msgs/CompressedImage`` -> ``H x W x 3`` uint8
  RGB, the package's image convention;
- ``H x W x 3`` uint8 RGB -> ``sensor_msgs/Image`` (rgb8), for the debug and event-frame outputs.
"""
from __future__ import annotations

import sys

import numpy as np


class ImageConversionError(ValueError):
    """An image message that cannot be turned into an RGB array (the message says why)."""


def check_image_msg(msg) -> None:
    """Cheap checks of an Image/CompressedImage (encoding known, sizes and data length consistent)
    without converting it; raises :class:`ImageConversionError` like :func:`image_to_rgb`."""
    if hasattr(msg, "format"):
        if not len(msg.data):
            raise ImageConversionError(f"compressed image ({msg.format!r}) has no data")
        return
    _image_layout(msg)


#: Planar YUV 4:2:0 encodings: ``height`` counts the image rows; the chroma plane adds half as many.
YUV420_ENCODINGS = ("nv12", "nv21")


def _image_layout(msg):
    """(typestr, channels, row_bytes, rows) of an Image message, after checking its fields."""
    from rosbags.image.image import ImageError, to_cvtype

    encoding = str(msg.encoding)
    try:
        _, _, typestr, channels = to_cvtype(encoding)
    except ImageError as exc:
        raise ImageConversionError(f"image encoding {encoding!r} is not supported ({exc})") from None
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    row_bytes = width * channels * np.dtype(typestr).itemsize
    if height < 1 or width < 1:
        raise ImageConversionError(f"image is empty: height={height}, width={width}")
    rows = height
    if encoding in YUV420_ENCODINGS:
        if height % 2 or width % 2:
            raise ImageConversionError(f"image encoding {encoding!r} needs an even width and height, got "
                                       f"{width}x{height}")
        rows = height * 3 // 2
    if step < row_bytes:
        raise ImageConversionError(f"image step {step} is smaller than a row of {width} px x {channels} "
                                   f"channel(s) of {np.dtype(typestr)} ({row_bytes} bytes), encoding {encoding!r}")
    if len(msg.data) < step * (rows - 1) + row_bytes:
        raise ImageConversionError(f"image data has {len(msg.data)} bytes, expected {step * rows} "
                                   f"({rows} rows x step {step}), encoding {encoding!r}")
    return typestr, channels, row_bytes, rows


def image_to_rgb(msg) -> np.ndarray:
    """An Image or CompressedImage message as a C-contiguous ``H x W x 3`` uint8 RGB array.

    Row padding (``step`` larger than a row) is removed; 16-bit encodings are scaled to 8 bit;
    colour conversion (BGR, Bayer, YUV, grey, alpha) is done by OpenCV through rosbags-image.
    Raises :class:`ImageConversionError` naming the encoding or field that is wrong.
    """
    if hasattr(msg, "format"):
        return _compressed_to_rgb(msg)
    from rosbags.image.image import ImageError, convert_color

    typestr, channels, row_bytes, rows = _image_layout(msg)
    encoding, height, width, step = str(msg.encoding), int(msg.height), int(msg.width), int(msg.step)
    dtype = np.dtype(typestr)
    data = np.frombuffer(msg.data, np.uint8)
    strided = np.lib.stride_tricks.as_strided(data, (rows, row_bytes), (step, 1))
    pixels = np.ascontiguousarray(strided).view(dtype)
    if dtype.itemsize > 1 and bool(msg.is_bigendian) != (sys.byteorder == "big"):
        pixels = pixels.byteswap()
    pixels = pixels.reshape((rows, width) if channels == 1 else (rows, width, channels))
    try:
        rgb = convert_color(pixels, encoding, "rgb8")
    except ImageError as exc:
        raise ImageConversionError(f"cannot convert image encoding {encoding!r} to rgb8 ({exc})") from None
    except Exception as exc:  # OpenCV refuses sizes some encodings need (nv12: even width, height % 3)
        first_line = (str(exc).strip().splitlines() or [""])[-1]
        raise ImageConversionError(f"cannot convert a {width}x{height} image of encoding {encoding!r} to rgb8 "
                                   f"({type(exc).__name__}: {first_line})") from None
    rgb = _as_rgb8(rgb, encoding)
    if rgb.shape[:2] != (height, width):
        raise ImageConversionError(f"image encoding {encoding!r} converted to {rgb.shape[1]}x{rgb.shape[0]}, not the "
                                   f"declared {width}x{height}")
    return rgb


def _compressed_to_rgb(msg) -> np.ndarray:
    import cv2

    data = np.frombuffer(msg.data, np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise ImageConversionError(f"compressed image ({msg.format!r}, {data.size} bytes) could not be decoded")
    return np.ascontiguousarray(image[..., ::-1])  # OpenCV decodes to BGR


def _as_rgb8(image: np.ndarray, encoding: str) -> np.ndarray:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ImageConversionError(f"image encoding {encoding!r} converted to shape {image.shape} "
                                   f"{image.dtype}, not H x W x 3 uint8")
    return np.ascontiguousarray(image)


def rgb_to_image(rgb: np.ndarray, header, image_type) -> object:
    """An ``image_type`` (sensor_msgs/Image) message with encoding rgb8 holding ``rgb``."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb_to_image needs an H x W x 3 uint8 array, got {rgb.shape} {rgb.dtype}")
    msg = image_type()
    msg.header = header
    msg.height, msg.width = int(rgb.shape[0]), int(rgb.shape[1])
    msg.encoding = "rgb8"
    msg.is_bigendian = 0
    msg.step = 3 * msg.width
    msg.data = np.ascontiguousarray(rgb).tobytes()
    return msg
