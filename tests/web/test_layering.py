"""The layers hold: the service reaches faceengine only through its public API (the names of its
top-level ``__init__``), and only the pipeline's engine_errors module looks at engine exceptions."""
from __future__ import annotations

import ast
from pathlib import Path

import faceengine

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ROOT / "wx_backend"


def _faceengine_imports(path: Path) -> list[tuple[int, str, tuple[str, ...]]]:
    """(line, module, names) of every import of faceengine in a file, also inside functions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "faceengine":
                    found.append((node.lineno, alias.name, ()))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "faceengine":
            found.append((node.lineno, node.module, tuple(a.name for a in node.names)))
    return found


def test_the_service_imports_only_top_level_faceengine_names():
    public = set(faceengine.__all__)
    offenders, imported = [], set()
    for path in sorted(SERVICE.rglob("*.py")):
        for line, module, names in _faceengine_imports(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if module != "faceengine":
                offenders.append(f"{where} imports {module}")
            for name in names:
                imported.add(name)
                if name not in public:
                    offenders.append(f"{where} imports {name}, not in faceengine.__all__")
    assert offenders == []
    assert {"FaceEngine", "verify_liveness", "decode_jpeg_frame"} <= imported   # the check saw real imports


def test_every_public_name_exists():
    missing = [name for name in faceengine.__all__ if not hasattr(faceengine, name)]
    assert missing == []


def test_the_check_catches_a_submodule_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from faceengine.detect import FaceBox\n    import faceengine.liveness\n")
    assert _faceengine_imports(sample) == [(2, "faceengine.detect", ("FaceBox",)), (3, "faceengine.liveness", ())]


def test_engine_exceptions_are_translated_in_one_module():
    """Only pipeline/engine_errors.py names faceengine's exception classes in the verification code
    (merchant onboarding reads a licence scan's MediaError for its own messages)."""
    names = {"FaceEngineError", "EngineUnavailable", "MediaError"}
    users = sorted(str(p.relative_to(ROOT)) for p in SERVICE.rglob("*.py")
                   if any(set(n) & names for _, _, n in _faceengine_imports(p)))
    assert users == ["wx_backend/merchants/licence.py", "wx_backend/pipeline/engine_errors.py"]
