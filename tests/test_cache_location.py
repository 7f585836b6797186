"""Where numba's compiled code for augkit is kept on disk (augkit._cache_load)."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULE = textwrap.dedent("""
    from numba import njit
    from augkit._cache_load import load_without_refresh

    @njit(cache=True)
    def twice(x):
        return 2 * x

    load_without_refresh(globals())
""")


def _package(parent):
    pkg = parent / "fakepkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text(MODULE)
    return pkg


def _run(pkg, tmp_path, loads=False, **env_extra):
    """Call the cached function in a fresh process; with ``loads``, require it to come from the cache."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), PYTHONPATH=os.pathsep.join([str(pkg.parent), str(ROOT)]),
               **env_extra)
    code = "import fakepkg.mod as m; assert m.twice(21) == 42"
    if loads:
        code += "; assert sum(m.twice.stats.cache_hits.values()) == 1, m.twice.stats"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=300)


def _cached(folder):
    return sorted(p.name for p in Path(folder).rglob("*.nbi"))


@pytest.mark.skipif(sys.platform != "linux", reason="the user cache folder checked here is Linux's")
def test_an_installed_package_keeps_its_compiled_code_in_the_users_cache_folder(tmp_path):
    # In site-packages, numba's files beside the source outlive `pip uninstall` and turn the
    # package folder into an empty namespace package that hides a later editable install.
    pkg = _package(tmp_path / "venv" / "lib" / "python3" / "site-packages")
    _run(pkg, tmp_path)
    assert _cached(pkg) == []
    user = tmp_path / "cache" / "augkit" / "numba"
    assert len(_cached(user)) == 1
    _run(pkg, tmp_path, loads=True)   # a second process loads it from there
    assert len(_cached(user)) == 1


def test_a_checkout_keeps_its_compiled_code_beside_the_source(tmp_path):
    pkg = _package(tmp_path / "checkout")
    _run(pkg, tmp_path)
    assert len(_cached(pkg / "__pycache__")) == 1
    assert not (tmp_path / "cache").exists()


def test_numba_cache_dir_set_by_the_user_wins(tmp_path):
    pkg = _package(tmp_path / "venv" / "lib" / "python3" / "site-packages")
    _run(pkg, tmp_path, NUMBA_CACHE_DIR=str(tmp_path / "mine"))
    assert len(_cached(tmp_path / "mine")) == 1
    assert _cached(pkg) == [] and not (tmp_path / "cache").exists()
