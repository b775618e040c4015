"""A third party's distribution, installed for one test: a module on
``sys.path`` and the entry points it registers, found by
``importlib.metadata`` exactly as an installed package's are.
"""

import importlib
import sys


def install(tmp_path, monkeypatch, name, module_source, entry_points):
    """Install distribution ``name`` (``third-party-x``) with one module
    (``third_party_x``) holding ``module_source``, and ``entry_points`` (the
    text of its ``entry_points.txt``); undone with ``monkeypatch``, the
    imported module included, so that each test imports its own source.
    """
    module = name.replace("-", "_")
    monkeypatch.delitem(sys.modules, module, raising=False)
    (tmp_path / f"{module}.py").write_text(module_source)
    dist_info = tmp_path / f"{module}-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(entry_points)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
