"""faceengine stays pure: importing every module pulls in no web stack and loads no model."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import importlib, json, pkgutil, sys
import faceengine
names = sorted(m.name for m in pkgutil.walk_packages(faceengine.__path__, "faceengine."))
for name in names:
    if name != "faceengine.__main__":
        importlib.import_module(name)
loaded = set(sys.modules)
print(json.dumps({"modules": names, "loaded": sorted(m for m in loaded if m.split(".")[0] in
      {"flask", "peewee", "wechatpy", "wx_backend", "werkzeug", "mediapipe", "dlib", "onnxruntime"})}))
"""


def test_importing_faceengine_imports_no_web_stack_and_no_models():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    for required in ("faceengine.engine", "faceengine.intake", "faceengine.quality", "faceengine.embed",
                     "faceengine.similarity", "faceengine.onnx_embed", "faceengine.cli.compare"):
        assert required in report["modules"]
    roots = {m.split(".")[0] for m in report["loaded"]}
    assert not roots & {"flask", "peewee", "wechatpy", "wx_backend", "werkzeug"}, report["loaded"]
    # models and their runtimes load in FaceEngine.load(), never at import time
    assert not roots & {"mediapipe", "dlib", "onnxruntime"}, report["loaded"]
