"""dlib's ResNet face descriptor run by onnxruntime: same weights, same numbers, ~6x faster.

dlib's pip build here has no BLAS, so its network costs ~180 ms per face on one core. This
module reads the weights from the installed ``dlib_face_recognition_resnet_model_v1.dat``
(dlib's own serialisation), rebuilds the network (the ``anet_type`` of dlib's
dnn_face_recognition_ex.cpp) as an in-memory ONNX graph and runs it with onnxruntime. Nothing
is downloaded or written to disk. Its output matches dlib's ``compute_face_descriptor`` to
~1e-5 (tests/faceengine/test_dlib_onnx.py), so templates keep dlib's model id and stay
comparable with templates dlib made.

dlib's network, input to output: 150x150 RGB, (pixel - channel mean) / 256; conv 7x7/2 (32),
affine, relu, max-pool 3x3/2; residual blocks (conv 3x3, affine, relu, conv 3x3, affine, add,
relu): 3 x 32, down + 3 x 64, down + 2 x 128, down + 2 x 256, down 256; global average;
fully connected 128, no bias. A "down" block's first conv has stride 2 and its shortcut is a
2x2/2 average pool of the block input. dlib adds tensors of different shapes by zero-padding
the smaller one at the end of each axis (more channels, and at the last two levels a larger
pooled shortcut than conv output); the graph reproduces that with Pad.
"""
from __future__ import annotations

import threading

import numpy as np

from .errors import EngineUnavailable, FaceEngineError

# (channels, blocks, first block downsamples) per level, input to output.
_LEVELS = ((32, 3, False), (64, 4, True), (128, 3, True), (256, 3, True), (256, 1, True))


class _Reader:
    """dlib serialisation: an integer is a control byte (low nibble = byte count, bit 7 = negative)
    then little-endian magnitude bytes; a scalar float is two integers, mantissa and base-2
    exponent; a tensor's values are raw float32."""

    def __init__(self, data: bytes):
        self.b = data
        self.p = 0

    def int(self) -> int:
        c = self.b[self.p]
        n = c & 15
        v = int.from_bytes(self.b[self.p + 1:self.p + 1 + n], "little")
        self.p += 1 + n
        return -v if c & 0x80 else v

    def float(self) -> float:
        m = self.int()
        return float(m) * 2.0 ** self.int()

    def string(self) -> str:
        n = self.int()
        s = self.b[self.p:self.p + n].decode("ascii", "replace")
        self.p += n
        return s

    def expect(self, name: str) -> None:
        """Advance to the next serialised string ``name`` (skipping fields we do not need)."""
        token = bytes([1, len(name)]) + name.encode("ascii")
        at = self.b.find(token, self.p)
        if at < 0:
            raise EngineUnavailable(f"dlib model file: layer {name!r} not found")
        self.p = at
        if self.string() != name:
            raise EngineUnavailable(f"dlib model file: bad layer header {name!r}")

    def tensor(self) -> np.ndarray:
        """A tensor: version, 4 dimensions, then (version 2) raw little-endian float32 values."""
        version = self.int()
        if version != 2:
            raise EngineUnavailable(f"dlib model file: tensor version {version} not supported")
        n, nr, nc, k = (self.int() for _ in range(4))
        count = n * nr * nc * k
        end = self.p + 4 * count
        if end > len(self.b):
            raise EngineUnavailable("dlib model file is truncated")
        values = np.frombuffer(self.b, dtype="<f4", count=count, offset=self.p).astype(np.float32)
        self.p = end
        return values


def _read_layers(data: bytes) -> dict:
    r = _Reader(data)
    r.expect("input_rgb_image_sized")
    mean = [r.float() for _ in range(3)]
    size = (r.int(), r.int())
    layers = []

    def conv(cin: int):
        r.expect("con_4")
        params = r.tensor()
        f, kh, kw = r.int(), r.int(), r.int()
        sy, sx, py, px = r.int(), r.int(), r.int(), r.int()
        w = params[:f * cin * kh * kw].reshape(f, cin, kh, kw)
        bias = params[f * cin * kh * kw:]
        if bias.size != f:
            raise EngineUnavailable("dlib model file: conv parameter count mismatch")
        layers.append(("conv", w, bias, (sy, sx), (py, px)))
        r.expect("affine_")
        ab = r.tensor()
        layers.append(("affine", ab[:f], ab[f:2 * f]))
        return f

    def pool(name: str):
        r.expect(name)
        return tuple(r.int() for _ in range(6))  # nr, nc, stride_y, stride_x, pad_y, pad_x

    c = conv(3)
    stem_pool = pool("max_pool_2")
    blocks = []
    for width, count, down in _LEVELS:
        for i in range(count):
            start = len(layers)
            conv(c)
            conv(width)
            shortcut = pool("avg_pool_2") if (down and i == 0) else None
            blocks.append((layers[start:start + 4], shortcut))
            c = width
    pool("avg_pool_2")  # avg_pool_everything
    r.expect("fc_2")
    outputs, inputs = r.int(), r.int()
    params = r.tensor()
    if params.size != inputs * outputs or inputs != c:
        raise EngineUnavailable("dlib model file: fc parameter count mismatch")
    return {"mean": mean, "size": size, "stem": layers[:2], "stem_pool": stem_pool,
            "blocks": blocks, "fc": params.reshape(inputs, outputs)}


def build_onnx(model_path: str) -> bytes:
    """Serialized ONNX model: input ``chip`` (1, 3, 150, 150) float32 of RGB pixels 0-255,
    output ``descriptor`` (1, 128)."""
    from onnx import TensorProto, helper, numpy_helper

    with open(model_path, "rb") as fh:
        spec = _read_layers(fh.read())
    nodes, inits = [], []
    counter = [0]

    def name(prefix: str) -> str:
        counter[0] += 1
        return f"{prefix}{counter[0]}"

    def const(arr: np.ndarray, prefix: str = "c") -> str:
        n = name(prefix)
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), n))
        return n

    def node(op: str, inputs: list[str], **attrs) -> str:
        out = name(op.lower())
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def conv_affine(x: str, conv_layer, affine_layer) -> str:
        _, w, b, stride, pad = conv_layer
        _, gamma, beta = affine_layer
        # affine after conv folds into the conv: gamma * (w x + b) + beta
        w2 = w * gamma[:, None, None, None]
        b2 = b * gamma + beta
        return node("Conv", [x, const(w2.astype(np.float32), "w"), const(b2.astype(np.float32), "b")],
                    kernel_shape=list(w.shape[2:]), strides=list(stride),
                    pads=[pad[0], pad[1], pad[0], pad[1]])

    mean = np.asarray(spec["mean"], np.float32).reshape(1, 3, 1, 1)
    x = node("Sub", ["chip", const(mean, "mean")])
    x = node("Mul", [x, const(np.asarray(1.0 / 256.0, np.float32), "scale")])
    x = node("Relu", [conv_affine(x, *spec["stem"])])
    kh, kw, sy, sx, py, px = spec["stem_pool"]
    x = node("MaxPool", [x], kernel_shape=[kh, kw], strides=[sy, sx], pads=[py, px, py, px])
    shape = _shapes(spec)
    for (layers, shortcut), (in_shape, conv_shape, sc_shape) in zip(spec["blocks"], shape):
        y = node("Relu", [conv_affine(x, layers[0], layers[1])])
        y = conv_affine(y, layers[2], layers[3])
        s = x
        if shortcut is not None:
            kh, kw, sy, sx, py, px = shortcut
            s = node("AveragePool", [x], kernel_shape=[kh, kw], strides=[sy, sx], pads=[py, px, py, px])
        out = tuple(max(a, b) for a, b in zip(conv_shape, sc_shape))
        y = _pad_to(node, const, y, conv_shape, out)
        s = _pad_to(node, const, s, sc_shape, out)
        x = node("Relu", [node("Add", [y, s])])
    x = node("GlobalAveragePool", [x])
    x = node("Flatten", [x], axis=1)
    nodes.append(helper.make_node("MatMul", [x, const(spec["fc"].astype(np.float32), "fc")], ["descriptor"]))
    h, w = spec["size"]
    graph = helper.make_graph(
        nodes, "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("chip", TensorProto.FLOAT, [1, 3, h, w])],
        [helper.make_tensor_value_info("descriptor", TensorProto.FLOAT, [1, spec["fc"].shape[1]])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


def _pad_to(node, const, x: str, have: tuple, want: tuple) -> str:
    if have == want:
        return x
    extra = [w - h for h, w in zip(have, want)]  # (channels, rows, cols), padded at the end
    pads = np.array([0, 0, 0, 0, 0, extra[0], extra[1], extra[2]], np.int64)
    return node("Pad", [x, const(pads, "pads")], mode="constant")


def _shapes(spec) -> list[tuple]:
    """(input, conv-branch, shortcut) shapes (channels, rows, cols) of every residual block."""
    def out(n, k, s, p):
        return 1 + (n + 2 * p - k) // s

    h, w = spec["size"]
    _, wt, _, (sy, sx), (py, px) = spec["stem"][0]
    c, h, w = wt.shape[0], out(h, wt.shape[2], sy, py), out(w, wt.shape[3], sx, px)
    kh, kw, sy, sx, py, px = spec["stem_pool"]
    h, w = out(h, kh, sy, py), out(w, kw, sx, px)
    shapes = []
    for layers, shortcut in spec["blocks"]:
        shape_in = (c, h, w)
        (_, w1, _, (s1y, s1x), (p1y, p1x)), (_, w2, _, (s2y, s2x), (p2y, p2x)) = layers[0], layers[2]
        ch = out(out(h, w1.shape[2], s1y, p1y), w2.shape[2], s2y, p2y)
        cw = out(out(w, w1.shape[3], s1x, p1x), w2.shape[3], s2x, p2x)
        conv_shape = (w2.shape[0], ch, cw)
        if shortcut is not None:
            kh, kw, sy, sx, py, px = shortcut
            sc_shape = (c, out(h, kh, sy, py), out(w, kw, sx, px))
        else:
            sc_shape = shape_in
        shapes.append((shape_in, conv_shape, sc_shape))
        c, h, w = (max(a, b) for a, b in zip(conv_shape, sc_shape))
    return shapes


class DlibOnnxNet:
    """The descriptor network as an onnxruntime session. ``descriptor(chip_rgb)`` takes the
    150x150 RGB uint8 chip dlib aligns and returns float32 (128,)."""

    def __init__(self, model_path: str, threads: int = 1):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise EngineUnavailable(f"onnxruntime missing: {exc}") from exc
        from .onnx_embed import _ort_errors

        self._errors = _ort_errors()
        try:
            blob = build_onnx(model_path)
        except (OSError, ValueError, IndexError) as exc:
            raise EngineUnavailable(f"cannot read dlib model {model_path}: {exc}") from exc
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(blob, sess_options=so, providers=["CPUExecutionProvider"])
        except self._errors as exc:
            raise EngineUnavailable(f"onnxruntime refused the converted dlib network: {exc}") from exc
        self._lock = threading.Lock()

    def descriptor(self, chip_rgb: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(chip_rgb.transpose(2, 0, 1)[None], dtype=np.float32)
        try:
            with self._lock:
                out = self._session.run(["descriptor"], {"chip": x})[0]
        except self._errors as exc:
            raise FaceEngineError(f"dlib descriptor (onnxruntime) failed: {exc}") from exc
        return out.reshape(-1).astype(np.float32)
