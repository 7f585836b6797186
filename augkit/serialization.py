"""Pipelines as plain data: ``to_dict`` / :func:`from_dict`, and files via :func:`save` / :func:`load`.

A description is ``{"name": "<class name>", <constructor arguments>...}``;
compositions nest their children under ``"transforms"``. Files are JSON, or
YAML (``.yaml``/``.yml``) when PyYAML is installed. Writing is atomic (a
temporary file renamed into place).
"""
from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path

from .core import REGISTRY, Transform

FORMAT_VERSION = 1


def to_dict(transform: Transform) -> dict:
    """The JSON-ready description of ``transform`` (same as ``transform.to_dict()``)."""
    return transform.to_dict()


def from_dict(data, _where="pipeline") -> Transform:
    """Rebuild a transform or pipeline from :func:`to_dict` output.

    Raises ``ValueError`` naming the field for unknown transform names,
    unknown or missing fields and bad values.
    """
    if isinstance(data, dict) and "pipeline" in data and "name" not in data:
        data = data["pipeline"]
    if not isinstance(data, dict):
        raise ValueError(f"{_where} must be a mapping with a 'name' field, got {type(data).__name__}")
    data = dict(data)
    name = data.pop("name", None)
    if name is None:
        raise ValueError(f"{_where}: missing field 'name' (one of {', '.join(sorted(_public()))})")
    cls = REGISTRY.get(name) if isinstance(name, str) else None
    if cls is None or name.startswith("_"):
        raise ValueError(f"{_where}.name: unknown transform {name!r}; known: {', '.join(sorted(_public()))}")
    params = inspect.signature(cls.__init__).parameters
    allowed = [k for k in params if k != "self"]
    for key in data:
        if key not in allowed:
            raise ValueError(f"{_where}: unknown field {key!r} for {name}; allowed: {', '.join(allowed)}")
    missing = [k for k, v in params.items() if k != "self" and v.default is inspect.Parameter.empty and k not in data]
    if missing:
        raise ValueError(f"{_where}: {name} needs field(s) {', '.join(map(repr, missing))}")
    if "transforms" in data:
        children = data["transforms"]
        if not isinstance(children, list):
            raise ValueError(f"{_where}.transforms must be a list, got {type(children).__name__}")
        data["transforms"] = [from_dict(c, f"{_where}.transforms[{i}]") for i, c in enumerate(children)]
    try:
        return cls(**data)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{_where}: {exc}") from None


def _public():
    return [k for k in REGISTRY if not k.startswith("_")]


def _is_yaml(path: Path) -> bool:
    return path.suffix.lower() in (".yaml", ".yml")


def save(transform: Transform, path) -> Path:
    """Write ``transform`` to ``path`` (JSON, or YAML for .yaml/.yml), atomically, creating its folder."""
    path = Path(path)
    data = {"augkit_format": FORMAT_VERSION, "pipeline": transform.to_dict()}
    if _is_yaml(path):
        try:
            import yaml
        except ImportError:
            raise ValueError(f"save: writing {path.name} needs PyYAML (pip install PyYAML); "
                             f"or use a .json path") from None
        text = yaml.safe_dump(data, sort_keys=False)
    else:
        text = json.dumps(data, indent=2) + "\n"
    from .io import atomic_write  # imports Pillow; keep it out of `import augkit`

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))
    return path


def load(path) -> Transform:
    """Read a pipeline written by :func:`save` (or any file holding a :func:`to_dict` description)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")   # a leading byte-order mark (Notepad writes one) is skipped
    except OSError as exc:
        raise ValueError(f"load: cannot read pipeline file {str(path)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"load: {str(path)!r} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as "
                         "UTF-8 (PowerShell 5's > writes UTF-16)") from None
    if _is_yaml(path):
        try:
            import yaml
        except ImportError:
            raise ValueError(f"load: reading {path.name} needs PyYAML (pip install PyYAML)") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            # PyYAML's message spans lines (with a snippet of the file); keep one line: where, and what.
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
            what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ValueError(f"load: {path} is not valid YAML ({where}{what})") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"load: {path} is not valid JSON: {exc}") from None
        except RecursionError:
            raise ValueError(f"load: {path}: the JSON is nested too deeply to read") from None
    if isinstance(data, dict) and "augkit_format" in data:
        if data["augkit_format"] != FORMAT_VERSION:
            raise ValueError(f"load: {path}: augkit_format {data['augkit_format']!r} is not supported "
                             f"(this version reads {FORMAT_VERSION})")
        data = data.get("pipeline")
    try:
        pipe = from_dict(data, "pipeline")
        pipe.to_dict()   # what a run records: must not fail later, deep inside
    except RecursionError:
        raise ValueError(f"load: {path}: the pipeline is nested too deeply for Python's recursion limit "
                         f"({sys.getrecursionlimit()} frames); flatten nested Compose blocks") from None
    return pipe
